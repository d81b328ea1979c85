package netpoll_test

import (
	"testing"
	"time"
)

// End-to-end tests of WebSocket multiplexing (§11.4, §11.5): every stream
// type over one socket with its exact envelope (WS-6, WS-7), the error
// replies of WS-9 to WS-12 (Appendix A.4), scopes per subscribe (AUTH-11),
// and unsubscribing (RED-2).

// wsStatus is a status as Rails publishes it; acct decides local (FLT-8).
// The content has the characters JSON.stringify does not escape but Go's
// encoder does.
func wsStatus(id, username, acct string) string {
	return `{"id":"` + id + `","language":"en","account":{"id":"5","username":"` + username + `","acct":"` + acct +
		`"},"content":"<p>hello & \"bye\"</p>","media_attachments":[]}`
}

// wsFiltered is wsStatus as a public or hashtag stream delivers it, with
// "filtered":[] (FLT-11).
func wsFiltered(id, username, acct string) string {
	s := wsStatus(id, username, acct)
	return s[:len(s)-1] + `,"filtered":[]}`
}

// WS-6, WS-7, RED-9, §4.1: one socket subscribed to every stream type
// receives each channel's events with the stream name of its subscription;
// object payloads are JSON strings of their canonical text, numbers stay
// numbers; a second socket that subscribed from the URL sees the list as a
// string.
func TestWebSocketEveryStream_WS6_WS7(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.dialWSAs("alice-read-token", "")
	subs := []string{
		`{"type":"subscribe","stream":"user"}`,
		`{"type":"subscribe","stream":"user:notification"}`,
		`{"type":"subscribe","stream":"public"}`,
		`{"type":"subscribe","stream":"public:local","only_media":true}`, // only_media ignored (WS-10)
		`{"type":"subscribe","stream":"public:remote"}`,
		`{"type":"subscribe","stream":"public:media"}`,
		`{"type":"subscribe","stream":"public:local:media"}`,
		`{"type":"subscribe","stream":"public:remote:media"}`,
		`{"type":"subscribe","stream":"hashtag","tag":"Café"}`,
		`{"type":"subscribe","stream":"hashtag:local","tag":"Café"}`,
		`{"type":"subscribe","stream":"list","list":1}`,
		`{"type":"subscribe","stream":["direct","ignored"]}`, // first element of an array
		// Same channel sets again: nothing changes (WS-9 step 3).
		`{"type":"subscribe","stream":"hashtag","tag":"CAFE"}`,
		`{"type":"subscribe","stream":"list","list":"1"}`,
		`{"type":"subscribe","stream":"public"}`,
	}
	for _, m := range subs {
		w.sendText(m)
	}
	w.sync()
	// A second socket subscribed from the URL: the list is the string "1".
	url := s.dialWSAs("alice-read-token", "?stream=list&list=1")
	url.sync()

	home, notes := "timeline:"+alice, "timeline:"+alice+":notifications"
	channels := []string{home, notes, "timeline:public", "timeline:public:local", "timeline:public:remote",
		"timeline:public:media", "timeline:public:local:media", "timeline:public:remote:media",
		"timeline:hashtag:cafe", "timeline:hashtag:cafe:local", "timeline:list:1", "timeline:direct:" + alice}
	for _, ch := range channels {
		s.waitSubscribed(ch)
	}

	local, remote := wsStatus("11", "bob", "bob"), wsStatus("12", "carol", "carol@remote.example")
	localF, remoteF := wsFiltered("11", "bob", "bob"), wsFiltered("12", "carol", "carol@remote.example")
	steps := []struct {
		channel, msg string
		want         []string // in any order
	}{
		// Unfiltered streams: the payload is the canonical object text, as a string.
		{home, `{"event":"update","payload":` + local + `}`, []string{wsEvent(`["user"]`, "update", wsQuote(local))}},
		{home, `{"event":"announcement.delete","payload":"5"}`, []string{wsEvent(`["user"]`, "announcement.delete", `"5"`)}},
		// RED-9: user and user:notification both include the notifications channel.
		{notes, `{"event":"notification","payload":{"id":"3","type":"mention","status":{"content":"\u003cp\u003ehi\u003c/p\u003e"}}}`, []string{
			wsEvent(`["user"]`, "notification", wsQuote(`{"id":"3","type":"mention","status":{"content":"<p>hi</p>"}}`)),
			wsEvent(`["user:notification"]`, "notification", wsQuote(`{"id":"3","type":"mention","status":{"content":"<p>hi</p>"}}`)),
		}},
		{notes, `{"event":"notifications_merged","payload":"1"}`, []string{
			wsEvent(`["user"]`, "notifications_merged", `"1"`),
			wsEvent(`["user:notification"]`, "notifications_merged", `"1"`),
		}},
		// Filtered streams add "filtered":[] to updates.
		{"timeline:public", `{"event":"update","payload":` + remote + `}`, []string{wsEvent(`["public"]`, "update", wsQuote(remoteF))}},
		{"timeline:public", `{"event":"delete","payload":"12"}`, []string{wsEvent(`["public"]`, "delete", `"12"`)}},
		{"timeline:public:local", `{"event":"update","payload":` + local + `}`, []string{wsEvent(`["public:local"]`, "update", wsQuote(localF))}},
		{"timeline:public:remote", `{"event":"status.update","payload":` + remote + `}`, []string{wsEvent(`["public:remote"]`, "status.update", wsQuote(remoteF))}},
		{"timeline:public:media", `{"event":"update","payload":` + remote + `}`, []string{wsEvent(`["public:media"]`, "update", wsQuote(remoteF))}},
		{"timeline:public:local:media", `{"event":"update","payload":` + local + `}`, []string{wsEvent(`["public:local:media"]`, "update", wsQuote(localF))}},
		{"timeline:public:remote:media", `{"event":"delete","payload":"12"}`, []string{wsEvent(`["public:remote:media"]`, "delete", `"12"`)}},
		// The tag exactly as sent, not normalized, and not replaced by CAFE.
		{"timeline:hashtag:cafe", `{"event":"update","payload":` + local + `}`, []string{wsEvent(`["hashtag","Café"]`, "update", wsQuote(localF))}},
		{"timeline:hashtag:cafe:local", `{"event":"delete","payload":"11"}`, []string{wsEvent(`["hashtag:local","Café"]`, "delete", `"11"`)}},
		{"timeline:direct:" + alice, `{"event":"conversation","payload":{"id":"9","unread":true,"accounts":[],"last_status":null}}`,
			[]string{wsEvent(`["direct"]`, "conversation", wsQuote(`{"id":"9","unread":true,"accounts":[],"last_status":null}`))}},
		{"timeline:direct:" + alice, `{"event":"delete","payload":"8"}`, []string{wsEvent(`["direct"]`, "delete", `"8"`)}},
		// ENC-5: a number payload stays a number; a list from a message keeps its JSON type.
		{"timeline:list:1", `{"event":"custom.thing","payload":12345}`, []string{wsEvent(`["list",1]`, "custom.thing", `12345`)}},
		{"timeline:list:1", `{"event":"update","payload":` + local + `}`, []string{wsEvent(`["list",1]`, "update", wsQuote(local))}},
	}
	for _, st := range steps {
		s.publish(st.channel, st.msg)
		w.expectTexts(st.want...)
	}
	url.expectText(wsEvent(`["list","1"]`, "custom.thing", `12345`))
	url.expectText(wsEvent(`["list","1"]`, "update", wsQuote(local)))
	w.quietWS(50 * time.Millisecond)
	url.quietWS(10 * time.Millisecond)
}

// WS-7, WS-8: the initial subscription from the URL echoes the URL's
// parameters, decoded (STR-5); its errors come as messages after the 101.
func TestWebSocketInitialSubscription_WS8(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tag := s.dialWSAs("alice-read-token", "?stream=hashtag&tag=Caf%C3%A9+Noir")
	tag.sync()
	s.waitSubscribed("timeline:hashtag:cafenoir")
	s.publish("timeline:hashtag:cafenoir", `{"event":"delete","payload":"1"}`)
	tag.expectText(wsEvent(`["hashtag","Café Noir"]`, "delete", `"1"`))

	for _, tc := range []struct{ query, want string }{
		{"?stream=nope", wsError("Unknown stream type", 400)},
		{"?stream=Public", wsError("Unknown stream type", 400)}, // STR-1
		{"?stream=hashtag", wsError("Missing tag name parameter", 400)},
		{"?stream=hashtag:local&tag=", wsError("Missing tag name parameter", 400)},
		{"?stream=list", wsError("Missing list name parameter", 400)},
		{"?stream=list&list=2", wsError("Not authorized to stream this list", 401)},
		{"?stream=list&list=abc", wsError("Not authorized to stream this list", 401)},
	} {
		w := s.dialWSAs("alice-read-token", tc.query)
		w.expectText(tc.want)
		w.sync() // and the socket stays open
	}
	// ?stream= empty: no subscription, no reply.
	w := s.dialWSAs("alice-read-token", "?stream=")
	w.sync()
}

// WS-9, WS-10, WS-11, WS-12, Appendix A.4: every error reply, and the
// messages that get none.
func TestWebSocketErrorMessages_WS9_WS12(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.dialWSAs("alice-read-token", "")
	unsub := `{"error":"Error unsubscribing from channel"}`
	start := time.Now()
	for _, tc := range []struct{ msg, want string }{
		{`{"type":"subscribe","stream":"nope"}`, wsError("Unknown stream type", 400)},
		{`{"type":"subscribe","stream":"User"}`, wsError("Unknown stream type", 400)},
		{`{"type":"subscribe"}`, wsError("Unknown stream type", 400)},
		{`{"type":"subscribe","stream":5}`, wsError("Unknown stream type", 400)},
		{`{"type":"subscribe","stream":[]}`, wsError("Unknown stream type", 400)},
		{`{"type":"subscribe","stream":"hashtag"}`, wsError("Missing tag name parameter", 400)},
		{`{"type":"subscribe","stream":"hashtag:local","tag":""}`, wsError("Missing tag name parameter", 400)},
		{`{"type":"subscribe","stream":"hashtag","tag":null}`, wsError("Missing tag name parameter", 400)},
		{`{"type":"subscribe","stream":"hashtag","tag":123}`, wsError("An unexpected error occurred", 500)},
		{`{"type":"subscribe","stream":"hashtag","tag":["a"]}`, wsError("An unexpected error occurred", 500)},
		{`{"type":"subscribe","stream":"list"}`, wsError("Missing list name parameter", 400)},
		{`{"type":"subscribe","stream":"list","list":""}`, wsError("Missing list name parameter", 400)},
		{`{"type":"subscribe","stream":"list","list":2}`, wsError("Not authorized to stream this list", 401)},
		{`{"type":"subscribe","stream":"list","list":"2"}`, wsError("Not authorized to stream this list", 401)},
		{`{"type":"subscribe","stream":"list","list":"abc"}`, wsError("Not authorized to stream this list", 401)},
		{`{"type":"subscribe","stream":"list","list":1.5}`, wsError("Not authorized to stream this list", 401)},
		{`{"type":"subscribe","stream":"list","list":99999999999999999999}`, wsError("Not authorized to stream this list", 401)},
		{`{"type":"unsubscribe","stream":"nope"}`, unsub},
		{`{"type":"unsubscribe"}`, unsub},
		{`{"type":"unsubscribe","stream":"hashtag"}`, unsub},
		{`{"type":"unsubscribe","stream":"hashtag","tag":123}`, unsub},
		{`{"type":"unsubscribe","stream":"list"}`, unsub},
		{`{"type":"unsubscribe","stream":"list","list":2}`, unsub},
	} {
		w.sendText(tc.msg)
		w.expectText(tc.want)
	}
	// Replies go out when the message is handled, not at the next tick (1 s
	// here): two dozen round trips take far less than a tick each.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("error replies took %v: held until the next tick?", d)
	}
	// No reply at all; the sync message's answer comes next.
	w.sendText(`{"type":"subscribe","stream":"public"}`)
	for _, m := range []string{
		`{"type":"subscribe","stream":"public"}`, // duplicate
		`this is not json`,
		`{"type":"subscribe","stream":"public"`, // truncated
		`[1,2]`,
		`"subscribe"`,
		``,
		`{"type":"nope","stream":"public"}`,
		`{"stream":"public"}`,
		`{"type":"SUBSCRIBE","stream":"nope"}`,
		`{"type":"unsubscribe","stream":"direct"}`, // never subscribed
		`{"type":"unsubscribe","stream":"list","list":1}`,         // owned, never subscribed
		`{"type":"unsubscribe","stream":"hashtag","tag":"never"}`, // never subscribed
	} {
		w.sendText(m)
	}
	w.sync()
	// Still subscribed to public, once; kill still works (system channels stay).
	s.waitSubscribed("timeline:public")
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	w.expectText(wsEvent(`["public"]`, "delete", `"1"`))
	w.sync()
	s.publish("timeline:access_token:1", `{"event":"kill"}`)
	if code, _ := w.expectClose(); code != 0 {
		t.Fatalf("kill close code %d, want an empty close", code)
	}
}

// AUTH-11, AUTH-9, AUTH-10: a token without read scopes connects, and every
// subscribe (even to an unknown stream, WS-9 step 1) fails with the scope
// error; unsubscribe has no scope check. Partial scopes allow their streams.
func TestWebSocketScopes_AUTH11(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	scope := wsError("Access token does not have the required scopes", 401)
	unsub := `{"error":"Error unsubscribing from channel"}`

	write := s.dialWSAs("alice-write-token", "?stream=public")
	write.expectText(scope) // WS-8: the initial subscription too
	for _, m := range []string{
		`{"type":"subscribe","stream":"user"}`,
		`{"type":"subscribe","stream":"user:notification"}`,
		`{"type":"subscribe","stream":"public:local"}`,
		`{"type":"subscribe","stream":"hashtag","tag":"x"}`,
		`{"type":"subscribe","stream":"list","list":1}`,
		`{"type":"subscribe","stream":"direct"}`,
		`{"type":"subscribe","stream":"nope"}`,
		`{"type":"subscribe"}`,
	} {
		write.sendText(m)
		write.expectText(scope)
	}
	write.sendText(`{"type":"unsubscribe","stream":"nope"}`)
	write.expectText(unsub)
	write.sendText(`{"type":"unsubscribe","stream":"public"}`) // resolves, nothing to remove
	write.sync()

	notif := s.dialWSAs("bob-notifications-token", "")
	notif.sendText(`{"type":"subscribe","stream":"user:notification"}`)
	notif.sendText(`{"type":"subscribe","stream":"public"}`)
	notif.expectText(scope)
	notif.sendText(`{"type":"subscribe","stream":"user"}`)
	notif.expectText(scope)
	notif.sync()
	s.waitSubscribed("timeline:" + bob + ":notifications")
	s.publish("timeline:"+bob+":notifications", `{"event":"notifications_merged","payload":"1"}`)
	notif.expectText(wsEvent(`["user:notification"]`, "notifications_merged", `"1"`))

	statuses := s.dialWSAs("alice-statuses-token", "?stream=user")
	statuses.sendText(`{"type":"subscribe","stream":"user:notification"}`)
	statuses.expectText(scope)
	s.waitSubscribed("timeline:" + alice)
	// AUTH-10: read:statuses gets home events but not notifications.
	s.publish("timeline:"+alice+":notifications", `{"event":"notifications_merged","payload":"1"}`)
	s.publish("timeline:"+alice, `{"event":"delete","payload":"2"}`)
	statuses.expectText(wsEvent(`["user"]`, "delete", `"2"`))
	statuses.quietWS(50 * time.Millisecond)
}

// RED-2, WS-11: unsubscribing stops delivery at once; a stream resolving to
// the same channels as a subscription removes it whatever its spelling;
// unsubscribing the last stream keeps the socket open and a later subscribe
// works.
func TestWebSocketUnsubscribe_RED2(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.dialWSAs("alice-read-token", "?stream=public")
	w.sendText(`{"type":"subscribe","stream":"public:local"}`)
	w.sendText(`{"type":"subscribe","stream":"hashtag","tag":"Café"}`)
	w.sync()
	for _, ch := range []string{"timeline:public", "timeline:public:local", "timeline:hashtag:cafe"} {
		s.waitSubscribed(ch)
	}
	// A second socket keeps timeline:public subscribed in Redis, so only
	// the unsubscribe can explain a missing event.
	other := s.dialWSAs("bob-read-token", "?stream=public")
	other.sync()

	w.sendText(`{"type":"unsubscribe","stream":"public"}`)
	w.sendText(`{"type":"unsubscribe","stream":"hashtag","tag":"CAFE"}`) // same channel as Café
	w.sync()
	s.publish("timeline:public", `{"event":"delete","payload":"1"}`)
	s.publish("timeline:hashtag:cafe", `{"event":"delete","payload":"2"}`)
	s.publish("timeline:public:local", `{"event":"delete","payload":"3"}`)
	other.expectText(wsEvent(`["public"]`, "delete", `"1"`))
	w.expectText(wsEvent(`["public:local"]`, "delete", `"3"`))

	// The last stream goes; the socket stays open and answers.
	w.sendText(`{"type":"unsubscribe","stream":"public:local"}`)
	w.sync()
	s.publish("timeline:public", `{"event":"delete","payload":"4"}`)
	other.expectText(wsEvent(`["public"]`, "delete", `"4"`))
	w.quietWS(100 * time.Millisecond)
	w.sendText(`{"type":"subscribe","stream":"public"}`)
	w.sync()
	s.publish("timeline:public", `{"event":"delete","payload":"5"}`)
	w.expectText(wsEvent(`["public"]`, "delete", `"5"`))
	other.expectText(wsEvent(`["public"]`, "delete", `"5"`))
}
