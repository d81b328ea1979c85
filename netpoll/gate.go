package netpoll

import (
	"context"
	"errors"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluice/sluice/auth"
	"github.com/sluice/sluice/proto"
	"github.com/sluice/sluice/timeline"
)

// lookupTimeout bounds one gate's database work (CFG-6 acquire timeout).
const lookupTimeout = 15 * time.Second

// ssePaths maps the stream paths of §4.1 (exact, HTTP-1) to their streams.
var ssePaths = map[string]timeline.Stream{
	"/api/v1/streaming/user":              timeline.StreamUser,
	"/api/v1/streaming/user/notification": timeline.StreamUserNotification,
	"/api/v1/streaming/public":            timeline.StreamPublic,
	"/api/v1/streaming/public/local":      timeline.StreamPublicLocal,
	"/api/v1/streaming/public/remote":     timeline.StreamPublicRemote,
	"/api/v1/streaming/hashtag":           timeline.StreamHashtag,
	"/api/v1/streaming/hashtag/local":     timeline.StreamHashtagLocal,
	"/api/v1/streaming/list":              timeline.StreamList,
	"/api/v1/streaming/direct":            timeline.StreamDirect,
}

// gateRequest is what a stream request needs after the loop lets go of the
// request bytes: everything is copied.
type gateRequest struct {
	c      *conn
	gen    uint32
	stream timeline.Stream
	token  string
	tag    string // raw tag parameter
	list   string // raw list parameter
	hasTag bool
	// notGetOrHead: the request passes authentication and scopes, then gets
	// Express's 404 (gate step 5).
	notGetOrHead bool
	method, path []byte

	// results, written by the worker
	ident    *auth.Identity
	fail     reason
	channels []string
	local    bool
	remote   bool
	rel      *auth.AccountEntry // filtered streams; released unless a subscription takes it
}

// gate runs the synchronous checks of §3.2 and hands the rest to a worker.
func (l *loop) gate(c *conn, r *proto.Request) {
	stream, ok := ssePaths[string(r.Path)]
	if !ok {
		l.respondError(c, reasonUnknownChannel) // step 1, even without a token
		return
	}
	token, ok := tokenOf(r, l.buf())
	if !ok {
		l.respondError(c, reasonMissingToken)
		return
	}
	if !l.limitIP(c, r.XForwardedFor) {
		l.respondError(c, reasonTooManyConns)
		return
	}
	g := &gateRequest{c: c, gen: c.gen, stream: stream, token: string(token)}
	if stream == timeline.StreamPublic || stream == timeline.StreamPublicLocal || stream == timeline.StreamPublicRemote {
		if v, found := proto.QueryValue(l.buf(), r.RawQuery, "only_media"); found && truthy(v) {
			g.stream = stream.WithMedia()
		}
	}
	if v, found := proto.QueryValue(l.buf(), r.RawQuery, "tag"); found {
		g.tag, g.hasTag = string(v), len(v) > 0
	}
	if v, found := proto.QueryValue(l.buf(), r.RawQuery, "list"); found {
		g.list = string(v)
	}
	if !c.headOnly && string(r.Method) != "GET" {
		g.notGetOrHead = true
		g.method = append([]byte(nil), r.Method...)
		g.path = append([]byte(nil), r.Path...)
	}
	c.state = stateAuthenticating
	dir, rc, railsPerms := l.s.dir, l.s.opts.Relations, l.s.opts.RailsPermissions
	if !l.s.runner.Submit(func() {
		done := false
		defer func() { // even if a lookup panics, the request gets its answer
			if !done {
				g.fail = reasonInternal
			}
			l.post(func() { l.finishGate(g) })
		}()
		if g.authenticate(dir) {
			// Gate step 4: the system channels listen from here on, so a
			// kill during the remaining lookups ends the response (SYS-1).
			l.post(func() { l.subscribeSystem(g) })
			g.resolve(dir, rc, railsPerms)
		}
		done = true
	}) {
		l.s.log.Error("authentication queue full; refusing request")
		c.state = stateReading
		c.releaseIP()
		l.respondError(c, reasonInternal)
	}
}

// tokenOf picks the access token by AUTH-1's precedence: Authorization
// (minus "Bearer "), then access_token, then Sec-WebSocket-Protocol whole.
// The result may alias r or dst.
func tokenOf(r *proto.Request, dst []byte) ([]byte, bool) {
	if r.HasAuthorization && len(r.Authorization) > 0 {
		tok := r.Authorization
		if len(tok) >= 7 && string(tok[:7]) == "Bearer " {
			tok = tok[7:]
		}
		return tok, true
	}
	if v, found := proto.QueryValue(dst, r.RawQuery, "access_token"); found && len(v) > 0 {
		return v, true
	}
	if r.HasSecWebSocketProtocol && len(r.SecWebSocketProtocol) > 0 {
		return r.SecWebSocketProtocol, true
	}
	return nil, false
}

// truthy is only_media's rule (§4.3).
func truthy(v []byte) bool {
	switch string(v) {
	case "", "0", "f", "F", "false", "FALSE", "off", "OFF":
		return false
	}
	return true
}

// authenticate performs gate steps 2 and 3 (token, scopes) on a worker
// goroutine and reports whether they passed.
func (g *gateRequest) authenticate(dir Directory) bool {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	id, err := dir.LookupToken(ctx, g.token)
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		g.fail = reasonInvalidToken
		return false
	case err != nil:
		g.fail = reasonInternal
		return false
	}
	g.ident = id
	if !scopeAllows(id.Scopes, g.stream) {
		g.fail = reasonScope
		return false
	}
	return true
}

// resolve performs gate step 6 (stream parameters, list ownership, feed
// access) on a worker goroutine.
func (g *gateRequest) resolve(dir Directory, rc *auth.RelationCache, railsPerms bool) {
	if g.notGetOrHead {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	g.channels, g.local, g.remote, g.fail = resolve(ctx, dir, g.ident, railsPerms, g.stream, g.tag, g.hasTag, g.list)
	if g.fail.Status == 0 {
		g.rel = acquireRelations(ctx, rc, g.ident, g.stream)
	}
}

// subscribeSystem subscribes the system channels of an authenticated
// request that is still being resolved (§3.2 step 4).
func (l *loop) subscribeSystem(g *gateRequest) {
	c := g.c
	if c.state != stateAuthenticating || c.gen != g.gen || len(c.streams) > 0 {
		return
	}
	l.subscribe(c, timeline.AccessTokenChannel(g.ident.TokenID), timeline.StreamInvalid, true, true)
	l.subscribe(c, timeline.SystemChannel(g.ident.AccountID), timeline.StreamInvalid, true, true)
}

// scopeAllows is AUTH-9.
func scopeAllows(s auth.Scopes, stream timeline.Stream) bool {
	if stream.NeedsNotificationScope() {
		return s.AllowsNotifications()
	}
	return s.AllowsStatuses()
}

// resolve maps a stream and its parameters to Redis channels (§4.1, §4.3,
// §5.5) and reads the feed-access settings of filtered streams (FLT-6). A
// zero reason means success. Worker goroutine.
func resolve(ctx context.Context, dir Directory, id *auth.Identity, railsPerms bool,
	stream timeline.Stream, tag string, hasTag bool, list string) (channels []string, local, remote bool, fail reason) {
	local, remote = true, true
	switch stream {
	case timeline.StreamUser:
		channels = []string{timeline.UserChannel(id.AccountID)}
		if id.Scopes.AllowsNotifications() { // AUTH-10
			channels = append(channels, timeline.NotificationsChannel(id.AccountID))
		}
	case timeline.StreamUserNotification:
		channels = []string{timeline.NotificationsChannel(id.AccountID)}
	case timeline.StreamDirect:
		channels = []string{timeline.DirectChannel(id.AccountID)}
	case timeline.StreamHashtag, timeline.StreamHashtagLocal:
		if !hasTag {
			return nil, false, false, reasonMissingTag
		}
		norm := string(proto.NormalizeTag(nil, []byte(tag)))
		channels = []string{timeline.HashtagChannel(norm, stream == timeline.StreamHashtagLocal)}
	case timeline.StreamList:
		if list == "" {
			return nil, false, false, reasonMissingList
		}
		listID, owned, err := dir.ListOwned(ctx, list, id.AccountID)
		if err != nil || !owned { // AUTH-12: any database error too
			return nil, false, false, reasonListNotOwned
		}
		channels = []string{timeline.ListChannel(listID)}
	default: // public*
		channels = []string{timeline.PublicChannel(stream)}
	}
	if stream.Filtered() && !id.CanViewFeeds(railsPerms) {
		kind := auth.FeedLive
		if stream.Topic() {
			kind = auth.FeedTopic
		}
		var err error
		if local, remote, err = dir.FeedAccess(ctx, kind); err != nil {
			return nil, false, false, reasonInternal
		}
	}
	return channels, local, remote, reason{}
}

// finishGate applies a finished lookup on the loop.
func (l *loop) finishGate(g *gateRequest) {
	c := g.c
	defer func() { // a stream that did not start gives the account data back
		if g.rel != nil {
			l.s.opts.Relations.Release(g.rel)
		}
	}()
	if c.state != stateAuthenticating || c.gen != g.gen {
		return // the client went away meanwhile
	}
	c.state = stateReading
	switch {
	case g.fail.Status != 0:
		l.releaseStreams(c) // the system channels end with the response (step 5)
		l.respondError(c, g.fail)
	case g.notGetOrHead:
		l.releaseStreams(c)
		l.respond(c, proto.AppendCannot(l.buf(), l.meta(c), g.method, g.path)) // HTTP-13
	default:
		l.startSSE(c, g)
		if c.killed {
			l.endStream(c, reasonKill) // killed while its lookups ran
		}
	}
	if c.state != stateStreaming {
		c.releaseIP() // no stream came of it (or a kill ended it at once)
	}
	l.resume(c)
}

// resume continues a connection whose request waited for a worker: it
// closes after the answer without keep-alive, and otherwise parses the
// pipelined requests that waited meanwhile.
func (l *loop) resume(c *conn) {
	if c.state != stateReading {
		return
	}
	if !c.keepAlive || l.traffic(c) == gnet.Close {
		l.close(c, reasonClientClosed)
	}
}
