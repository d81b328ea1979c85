package timeline

import "strconv"

// Stream is a stream a client subscribes to (§4.1). The zero value is invalid.
type Stream uint8

const (
	StreamInvalid Stream = iota
	StreamUser
	StreamUserNotification
	StreamPublic
	StreamPublicMedia
	StreamPublicLocal
	StreamPublicLocalMedia
	StreamPublicRemote
	StreamPublicRemoteMedia
	StreamHashtag
	StreamHashtagLocal
	StreamList
	StreamDirect
	numStreams
)

// NumStreams bounds Stream values: arrays indexed by Stream have this length.
const NumStreams = int(numStreams)

var streamNames = [numStreams]string{
	"", "user", "user:notification", "public", "public:media", "public:local",
	"public:local:media", "public:remote", "public:remote:media", "hashtag",
	"hashtag:local", "list", "direct",
}

// Streams lists every valid stream in the metrics order of MET-3.
var Streams = []Stream{
	StreamUser, StreamUserNotification, StreamList, StreamDirect, StreamPublic,
	StreamPublicMedia, StreamPublicLocal, StreamPublicLocalMedia, StreamPublicRemote,
	StreamPublicRemoteMedia, StreamHashtag, StreamHashtagLocal,
}

// Name is the WebSocket stream name (STR-1).
func (s Stream) Name() string {
	if s >= numStreams {
		return ""
	}
	return streamNames[s]
}

func (s Stream) String() string { return s.Name() }

// ParseStream maps an exact, case-sensitive stream name to its Stream (STR-1).
func ParseStream(name string) (Stream, bool) {
	for i := StreamUser; i < numStreams; i++ {
		if streamNames[i] == name {
			return i, true
		}
	}
	return StreamInvalid, false
}

// Filtered reports whether update/status.update events of the stream go
// through per-recipient filtering (§8).
func (s Stream) Filtered() bool { return s >= StreamPublic && s <= StreamHashtagLocal }

// Topic reports whether the stream uses the topic feed-access settings
// (hashtag*) rather than the live ones (public*) (FLT-6).
func (s Stream) Topic() bool { return s == StreamHashtag || s == StreamHashtagLocal }

// NeedsNotificationScope reports whether the stream requires read or
// read:notifications instead of read or read:statuses (AUTH-9).
func (s Stream) NeedsNotificationScope() bool { return s == StreamUserNotification }

// WithMedia returns the :media variant of a public stream (only_media).
func (s Stream) WithMedia() Stream {
	switch s {
	case StreamPublic, StreamPublicLocal, StreamPublicRemote:
		return s + 1
	}
	return s
}

// Channel names without the Redis namespace (§4.1, §12).

func UserChannel(account int64) string {
	return "timeline:" + strconv.FormatInt(account, 10)
}

func NotificationsChannel(account int64) string {
	return "timeline:" + strconv.FormatInt(account, 10) + ":notifications"
}

func DirectChannel(account int64) string {
	return "timeline:direct:" + strconv.FormatInt(account, 10)
}

func ListChannel(list int64) string {
	return "timeline:list:" + strconv.FormatInt(list, 10)
}

// HashtagChannel takes the normalized tag (STR-7).
func HashtagChannel(tag string, local bool) string {
	if local {
		return "timeline:hashtag:" + tag + ":local"
	}
	return "timeline:hashtag:" + tag
}

func AccessTokenChannel(token int64) string {
	return "timeline:access_token:" + strconv.FormatInt(token, 10)
}

func SystemChannel(account int64) string {
	return "timeline:system:" + strconv.FormatInt(account, 10)
}

// PublicChannel returns the channel of a public* stream.
func PublicChannel(s Stream) string {
	return "timeline:" + s.Name()
}

// SubscribedKey is the key Rails checks before publishing to channel (STR-8).
func SubscribedKey(channel string) string { return "subscribed:" + channel }
