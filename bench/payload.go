package bench

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Realistic Mastodon payloads, written the way Rails publishes them:
// {"event":"update","payload":{…status…},"queued_at":<ms>} with the status
// rendered by REST::StatusSerializer (about 2.4 KB), and notifications with
// <, > and & escaped as \u003c, \u003e, \u0026. The author is the fixture's
// bob (local, language en), and the text avoids the fixture's filter words
// (spoiler, GoT, bitcoin), so alice's public stream delivers every status
// without dropping any (spec §8).

// Channel is one Redis channel a run publishes to.
type Channel struct {
	Name  string `json:"name"`  // without namespace, e.g. "timeline:public"
	Event string `json:"event"` // "update" or "notification"
}

// RedisName is the channel name with the namespace applied (spec STR-3).
func (c Channel) RedisName(namespace string) string {
	if namespace == "" {
		return c.Name
	}
	return namespace + ":" + c.Name
}

// StreamChannels returns the Redis channels (without namespace) a stream
// subscribes to, per spec §4.1, for the account that owns the token.
// params carries tag and list; the tag is normalized the simple way
// (ASCII lower case), which is exact for ASCII tags.
func StreamChannels(stream string, params url.Values, account string) ([]string, error) {
	switch stream {
	case "user":
		return []string{"timeline:" + account, "timeline:" + account + ":notifications"}, nil
	case "user:notification":
		return []string{"timeline:" + account + ":notifications"}, nil
	case "public", "public:media", "public:local", "public:local:media", "public:remote", "public:remote:media":
		return []string{"timeline:" + stream}, nil
	case "hashtag", "hashtag:local":
		tag := params.Get("tag")
		if tag == "" {
			return nil, fmt.Errorf("bench: stream %s needs a tag", stream)
		}
		ch := "timeline:hashtag:" + strings.ToLower(tag)
		if stream == "hashtag:local" {
			ch += ":local"
		}
		return []string{ch}, nil
	case "list":
		if params.Get("list") == "" {
			return nil, fmt.Errorf("bench: stream list needs a list id")
		}
		return []string{"timeline:list:" + params.Get("list")}, nil
	case "direct":
		return []string{"timeline:direct:" + account}, nil
	}
	return nil, fmt.Errorf("bench: unknown stream %q", stream)
}

// ssePaths maps SSE paths to stream names (spec §4.1).
var ssePaths = map[string]string{
	"/api/v1/streaming/user":              "user",
	"/api/v1/streaming/user/notification": "user:notification",
	"/api/v1/streaming/public":            "public",
	"/api/v1/streaming/public/local":      "public:local",
	"/api/v1/streaming/public/remote":     "public:remote",
	"/api/v1/streaming/hashtag":           "hashtag",
	"/api/v1/streaming/hashtag/local":     "hashtag:local",
	"/api/v1/streaming/list":              "list",
	"/api/v1/streaming/direct":            "direct",
}

// StreamForPath returns the stream an SSE path (with query) selects.
func StreamForPath(pathQuery string) (string, url.Values, error) {
	p, q, _ := strings.Cut(pathQuery, "?")
	params, err := url.ParseQuery(q)
	if err != nil {
		return "", nil, fmt.Errorf("bench: path %q: %v", pathQuery, err)
	}
	stream, ok := ssePaths[p]
	if !ok {
		return "", nil, fmt.Errorf("bench: %q is not a Mastodon SSE stream path (see spec §4.1)", p)
	}
	if m := params.Get("only_media"); strings.HasPrefix(stream, "public") && m != "" && !isFalsy(m) {
		stream += ":media"
	}
	return stream, params, nil
}

func isFalsy(s string) bool {
	switch s {
	case "0", "f", "F", "false", "FALSE", "off", "OFF":
		return true
	}
	return false
}

// EventFor is the event Rails publishes on a channel.
func EventFor(channel string) string {
	if strings.HasSuffix(channel, ":notifications") {
		return "notification"
	}
	return "update"
}

// payloadBuilder renders messages. It holds pre-split templates and is
// safe for use by one goroutine at a time (the publisher).
type payloadBuilder struct {
	created string
	buf     []byte
}

func newPayloadBuilder() *payloadBuilder {
	return &payloadBuilder{created: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
}

// message renders the Redis message for publication m on channel ch. The
// returned slice is valid until the next call.
func (b *payloadBuilder) message(event string, m marker) []byte {
	id := strconv.FormatUint(115_700_000_000_000_000+uint64(m.ch)*10_000_000_000+uint64(m.seq), 10)
	d := b.buf[:0]
	d = append(d, `{"event":"`...)
	d = append(d, event...)
	d = append(d, `","payload":`...)
	if event == "notification" {
		d = b.notification(d, id, m)
	} else {
		d = b.status(d, id, m, true)
	}
	d = append(d, `,"queued_at":`...)
	d = strconv.AppendInt(d, m.ns/1e6, 10)
	d = append(d, '}')
	b.buf = d
	return d
}

func (b *payloadBuilder) status(d []byte, id string, m marker, withMarker bool) []byte {
	d = append(d, `{"id":"`...)
	d = append(d, id...)
	if withMarker {
		d = append(d, `","`+markerKey+`":"`...)
		d = appendMarker(d, m)
	}
	d = append(d, `","created_at":"`...)
	d = append(d, b.created...)
	d = append(d, `","in_reply_to_id":null,"in_reply_to_account_id":null,"sensitive":false,"spoiler_text":"","visibility":"public","language":"en","uri":"https://local.test/users/bob/statuses/`...)
	d = append(d, id...)
	d = append(d, `","url":"https://local.test/@bob/`...)
	d = append(d, id...)
	d = append(d, `","replies_count":0,"reblogs_count":0,"favourites_count":0,"quotes_count":0,"edited_at":null,"content":"\u003cp\u003eEvening walk along the harbour: the fishing boats are back, the light is soft and the gulls are loud. Status `...)
	d = append(d, id...)
	d = append(d, ` from the load test. \u003ca href=\"https://local.test/tags/bench\" class=\"mention hashtag\" rel=\"tag\"\u003e#\u003cspan\u003ebench\u003c/span\u003e\u003c/a\u003e\u003c/p\u003e","reblog":null,"application":{"name":"Web","website":null},`...)
	d = append(d, statusTail...)
	return d
}

func (b *payloadBuilder) notification(d []byte, id string, m marker) []byte {
	d = append(d, `{"id":"`...)
	d = append(d, id...)
	d = append(d, `","`+markerKey+`":"`...)
	d = appendMarker(d, m)
	d = append(d, `","type":"mention","created_at":"`...)
	d = append(d, b.created...)
	d = append(d, `","group_key":"ungrouped-`...)
	d = append(d, id...)
	d = append(d, `",`...)
	d = append(d, accountBob...)
	d = append(d, `,"status":`...)
	return append(b.status(d, id, m, false), '}')
}

// accountBob is REST::AccountSerializer output for the fixture's bob.
const accountBob = `"account":{"id":"109000000000000002","username":"bob","acct":"bob","display_name":"Bob","locked":false,"bot":false,"discoverable":true,"indexable":true,"group":false,"created_at":"2026-01-01T00:00:00.000Z","note":"\u003cp\u003eSailing, bread and slow photography.\u003c/p\u003e","url":"https://local.test/@bob","uri":"https://local.test/users/bob","avatar":"https://local.test/avatars/original/missing.png","avatar_static":"https://local.test/avatars/original/missing.png","header":"https://local.test/headers/original/missing.png","header_static":"https://local.test/headers/original/missing.png","followers_count":128,"following_count":96,"statuses_count":4211,"last_status_at":"2026-11-23","hide_collections":false,"noindex":false,"emojis":[],"roles":[],"fields":[{"name":"Boat","value":"Wanderer","verified_at":null}]}`

// statusTail is the rest of a status after "application".
const statusTail = accountBob + `,"media_attachments":[{"id":"115699999999999001","type":"image","url":"https://local.test/system/media_attachments/files/115/699/999/999/999/001/original/harbour.jpg","preview_url":"https://local.test/system/media_attachments/files/115/699/999/999/999/001/small/harbour.jpg","remote_url":null,"preview_remote_url":null,"text_url":null,"meta":{"original":{"width":1280,"height":853,"size":"1280x853","aspect":1.5005861664712778},"small":{"width":588,"height":392,"size":"588x392","aspect":1.5}},"description":"Fishing boats moored in a harbour at dusk","blurhash":"UKF~X.of0000ayj[WBay00WB~qof-;WBayj["}],"mentions":[],"tags":[{"name":"bench","url":"https://local.test/tags/bench"}],"emojis":[],"card":null,"poll":null,"quote":null,"quote_approval":{"automatic":["public"],"manual":[],"current_user":"automatic"}}`
