package netpoll_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// End-to-end tests of the SSE streams: every endpoint of §4.1 against its
// Redis channels, the event framing of §10 and the event rules of §6–§7.

// status is a minimal status payload as Rails publishes it on public and
// hashtag channels; acct decides local (FLT-8).
func status(id, username, acct string) string {
	return `{"id":"` + id + `","language":"en","account":{"id":"1","username":"` + username + `","acct":"` + acct +
		`"},"content":"<p>hello</p>","media_attachments":[]}`
}

// filteredStatus is status as a filtered stream delivers it (FLT-11).
func filteredStatus(id, username, acct string) string {
	s := status(id, username, acct)
	return s[:len(s)-1] + `,"filtered":[]}`
}

// Appendix A.3, SSE-3, RED-6, RED-8, ENC-1, ENC-4, ENC-5, EVT-2, EVT-3: the
// user stream forwards every event of timeline:<a> and
// timeline:<a>:notifications unfiltered, and drops what RED-6 says.
func TestUserStream_AppendixA3(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	home, notes := "timeline:"+alice, "timeline:"+alice+":notifications"
	s.waitSubscribed(home)
	s.waitSubscribed(notes)

	steps := []struct {
		channel, msg string
		want         string // "" = dropped
	}{
		{home, `{"event":"update","payload":{"id":"1","language":"fr","content":"<p>bonjour</p>"}}`,
			sseEvent("update", `{"id":"1","language":"fr","content":"<p>bonjour</p>"}`)}, // EVT-2: no language filter, no "filtered"
		{notes, `{"event":"notification","payload":{"id":"2","type":"mention","status":{"content":"\u003cp\u003e@alice hi \u0026 bye\u003c/p\u003e"}}}`,
			sseEvent("notification", `{"id":"2","type":"mention","status":{"content":"<p>@alice hi & bye</p>"}}`)},
		{home, `{"event":"announcement","payload":{"id":"5","content":"<p>news</p>","all_day":false,"reactions":[]}}`,
			sseEvent("announcement", `{"id":"5","content":"<p>news</p>","all_day":false,"reactions":[]}`)},
		{home, `{"event":"announcement.reaction","payload":{"name":"👍","count":3,"announcement_id":"5"}}`,
			sseEvent("announcement.reaction", `{"name":"👍","count":3,"announcement_id":"5"}`)},
		{home, `{"event":"announcement.reaction","payload":{"name":"\ud83d\udc4d","count":4.0,"announcement_id":"5"}}`,
			sseEvent("announcement.reaction", `{"name":"👍","count":4,"announcement_id":"5"}`)}, // ENC-1
		{home, `{"event":"announcement.delete","payload":"5"}`, sseEvent("announcement.delete", "5")},
		{notes, `{"event":"notifications_merged","payload":"1"}`, sseEvent("notifications_merged", "1")},
		{home, `{"event":"status.update","payload":{"id":"1","edited_at":"2025-01-01T00:00:00.000Z"}}`,
			sseEvent("status.update", `{"id":"1","edited_at":"2025-01-01T00:00:00.000Z"}`)},
		{home, `{"event":"update","payload":"{\"id\":\"9\",\"content\":\"legacy\"}"}`,
			sseEvent("update", `{"id":"9","content":"legacy"}`)}, // ENC-4: string passed as-is
		{home, `{"event":"custom.thing","payload":12345}`, sseEvent("custom.thing", "12345")}, // RED-8, ENC-5
		{home, `{"event":"x2","payload":[1,"a"]}`, sseEvent("x2", `[1,"a"]`)},
		{home, `{"event":"filters_changed"}`, ""},                                   // EVT-3
		{home, `{"event":"x","payload":0}`, ""},                                     // RED-6
		{home, `{"event":"x","payload":""}`, ""},                                    // RED-6
		{home, `{"event":"x","payload":null}`, ""},                                  // RED-6
		{home, `{"event":"x","payload":false}`, ""},                                 // RED-6
		{home, `{"event":"","payload":"1"}`, ""},                                    // RED-6
		{home, `not json`, ""},                                                      // RED-4
		{home, `[1,2]`, ""},                                                         // RED-6
		{home, `{"event":"a\nb","payload":"1"}`, ""},                                // RED-7
		{home, `{"event":7,"payload":"1"}`, ""},                                     // RED-7
		{home, `{"event":"kill"}`, ""},                                              // SYS-3: kill on a stream channel is an event
		{home, `{"event":"kill","payload":"x"}`, sseEvent("kill", "x")},             // SYS-3
		{home, `{"event":"t","payload":true,"queued_at":1}`, sseEvent("t", "true")}, // RED-7: other keys ignored
		{home, `{"event":"o","payload":{},"event":"o2"}`, sseEvent("o2", "{}")},     // RED-4: last duplicate wins
		{home, `{"event":"s","payload":"0"}`, sseEvent("s", "0")},                   // RED-6: "0" is truthy
		{notes, `{"event":"n","payload":{"a":1e21,"b":1.50,"c":-0.0,"d":"\/"}}`, sseEvent("n", `{"a":1e+21,"b":1.5,"c":0,"d":"/"}`)},          // ENC-1
		{home, "{\"event\":\"bad\",\"payload\":\"a\xffb\"}", sseEvent("bad", "a\uFFFDb")},                                                     // RED-4, SSE-6: UTF-8 repair
		{home, `{"event":"sur","payload":"x\ud800y"}`, sseEvent("sur", "x\uFFFDy")},                                                           // SSE-6: a lone surrogate is not UTF-8
		{home, `{"event":"obj","payload":{"k":"\ud800","t":"\u2028\u001f"}}`, sseEvent("obj", "{\"k\":\"\\ud800\",\"t\":\"\u2028\\u001f\"}")}, // ENC-1 escapes
	}
	var want strings.Builder
	for _, st := range steps {
		s.publish(st.channel, st.msg)
		want.WriteString(st.want)
	}
	c.expectBody(want.String())
	c.quiet(100 * time.Millisecond)
}

// SSE-5: a string payload with CR, LF or CRLF becomes several data: lines.
func TestStringPayloadNewlines_SSE5(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/direct?access_token=alice-read-token")
	ch := "timeline:direct:" + alice
	s.waitSubscribed(ch)
	s.publish(ch, `{"event":"delete","payload":"line1\nline2\r\nline3\rline4\n"}`)
	c.expectBody("event: delete\ndata: line1\ndata: line2\ndata: line3\ndata: line4\ndata: \n\n")
	// Canonical JSON never holds a raw newline: an object's "\n" stays escaped.
	s.publish(ch, `{"event":"conversation","payload":{"id":"3","text":"a\nb"}}`)
	c.expectBody(sseEvent("conversation", `{"id":"3","text":"a\nb"}`))
}

// §4.1, SSE-1..SSE-3, FLT-11, EVT-1: every SSE endpoint receives what is
// published on its channel, and only that.
func TestEveryStreamEndpoint_4_1(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const tok = "access_token=alice-read-token"
	cases := []struct {
		target   string
		channels []string
		filtered bool
	}{
		{"/api/v1/streaming/user?" + tok, []string{"timeline:" + alice, "timeline:" + alice + ":notifications"}, false},
		{"/api/v1/streaming/user/notification?" + tok, []string{"timeline:" + alice + ":notifications"}, false},
		{"/api/v1/streaming/public?" + tok, []string{"timeline:public"}, true},
		{"/api/v1/streaming/public?only_media=false&" + tok, []string{"timeline:public"}, true},
		{"/api/v1/streaming/public?only_media=0&" + tok, []string{"timeline:public"}, true},
		{"/api/v1/streaming/public?only_media=1&" + tok, []string{"timeline:public:media"}, true},
		{"/api/v1/streaming/public?only_media=no&" + tok, []string{"timeline:public:media"}, true}, // §4.3: "no" is truthy
		{"/api/v1/streaming/public/local?" + tok, []string{"timeline:public:local"}, true},
		{"/api/v1/streaming/public/local?only_media=true&" + tok, []string{"timeline:public:local:media"}, true},
		{"/api/v1/streaming/public/remote?" + tok, []string{"timeline:public:remote"}, true},
		{"/api/v1/streaming/public/remote?only_media=True&" + tok, []string{"timeline:public:remote:media"}, true},
		{"/api/v1/streaming/hashtag?tag=Caf%C3%A9&" + tok, []string{"timeline:hashtag:cafe"}, true},
		{"/api/v1/streaming/hashtag/local?tag=Caf%C3%A9&" + tok, []string{"timeline:hashtag:cafe:local"}, true},
		{"/api/v1/streaming/list?list=1&" + tok, []string{"timeline:list:1"}, false},
		{"/api/v1/streaming/direct?" + tok, []string{"timeline:direct:" + alice}, false},
	}
	// One stream per case, all open at once, so that each must ignore the
	// others' channels.
	clients := make([]*client, len(cases))
	for i, tc := range cases {
		clients[i] = s.openStream(tc.target)
	}
	for _, tc := range cases {
		for _, ch := range tc.channels {
			s.waitSubscribed(ch)
		}
	}
	for i, tc := range cases {
		for j, ch := range tc.channels {
			id := fmt.Sprintf("%d%d", i, j)
			s.publish(ch, `{"event":"delete","payload":"`+id+`"}`)
			s.publish(ch, `{"event":"update","payload":`+status(id, "bob", "bob")+`}`)
			want := sseEvent("delete", id)
			if tc.filtered {
				want += sseEvent("update", filteredStatus(id, "bob", "bob"))
			} else {
				want += sseEvent("update", status(id, "bob", "bob"))
			}
			// Every client subscribed to ch gets it; the others must not.
			for k, other := range cases {
				if contains(other.channels, ch) {
					clients[k].expectBody(want)
				}
			}
		}
	}
	for i, c := range clients {
		c.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if b, err := c.r.ReadByte(); err == nil {
			t.Errorf("%s: unexpected byte %q after its events", cases[i].target, b)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FLT-1, EVT-1 on a filtered stream: a malformed update is dropped (the
// process survives, LIFE-4), pass-through events are not filtered, and a
// legacy string-encoded status is parsed.
func TestPublicStream_MalformedUpdates_FLT1(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	s.waitSubscribed("timeline:public")
	s.publishAll("timeline:public",
		`{"event":"update","payload":"not a status"}`,
		`{"event":"update","payload":{"id":"1"}}`,
		`{"event":"update","payload":{"id":"1","account":"x"}}`,
		`{"event":"status.update","payload":[1]}`,
		`{"event":"update","payload":`+jsonString(status("2", "carol", "carol@remote.example"))+`}`,
		`{"event":"announcement","payload":"whatever"}`,
		`{"event":"status.update","payload":`+status("3", "bob", "bob")+`}`,
	)
	c.expectBody(sseEvent("update", filteredStatus("2", "carol", "carol@remote.example")) +
		sseEvent("announcement", "whatever") +
		sseEvent("status.update", filteredStatus("3", "bob", "bob")))
	c.quiet(100 * time.Millisecond)
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// RED-10: events from the two channels of a user stream arrive in the order
// Redis delivered them, also when they come in a burst.
func TestUserStream_Ordering_RED10(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	home, notes := "timeline:"+alice, "timeline:"+alice+":notifications"
	s.waitSubscribed(home)
	s.waitSubscribed(notes)
	// One pipeline with both channels interleaved: MULTI-less pipelines
	// keep their order on the wire, so Redis delivers in this order.
	const n = 400
	var want strings.Builder
	cmds := make([]string, 0, n)
	chans := make([]string, 0, n)
	for i := 0; i < n; i++ {
		ch := home
		if i%3 == 1 {
			ch = notes
		}
		chans = append(chans, ch)
		cmds = append(cmds, fmt.Sprintf(`{"event":"e%d","payload":"%d"}`, i, i))
		want.WriteString(sseEvent(fmt.Sprintf("e%d", i), fmt.Sprint(i)))
	}
	publishMixed(s, chans, cmds)
	if got := c.body(want.Len(), 10*time.Second); got != want.String() {
		t.Fatalf("order differs:\n got %.300q…\nwant %.300q…", got, want.String())
	}
}

// STR-8, STR-3: while a stream is open, subscribed:<channel> exists,
// namespaced, with value 1 and TTL 1080 s; system channels get no key.
func TestSubscribedKeys_STR8(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const tok = "access_token=alice-read-token"
	for _, target := range []string{
		"/api/v1/streaming/user?" + tok,
		"/api/v1/streaming/user/notification?" + tok,
		"/api/v1/streaming/list?list=1&" + tok,
		"/api/v1/streaming/direct?" + tok,
		"/api/v1/streaming/public?" + tok,
		"/api/v1/streaming/public/local?only_media=1&" + tok,
		"/api/v1/streaming/hashtag?tag=Sunset&" + tok,
	} {
		s.openStream(target)
	}
	live := []string{
		"timeline:" + alice, "timeline:" + alice + ":notifications", "timeline:list:1",
		"timeline:direct:" + alice, "timeline:public", "timeline:public:local:media", "timeline:hashtag:sunset",
	}
	for _, ch := range live {
		s.waitSubscribed(ch)
	}
	s.waitSubscribed("timeline:access_token:1")
	s.waitSubscribed("timeline:system:" + alice)
	for _, ch := range live {
		val, ttl := s.rawKey(s.ns("subscribed:" + ch))
		if val != "1" || ttl < 1070 || ttl > 1080 {
			t.Errorf("subscribed:%s = %q with TTL %d; want \"1\" with TTL ≈1080 (STR-8)", ch, val, ttl)
		}
		if _, ttl := s.rawKey("subscribed:" + ch); ttl != -2 {
			t.Errorf("un-namespaced subscribed:%s exists (STR-3)", ch)
		}
	}
	for _, ch := range []string{"timeline:access_token:1", "timeline:system:" + alice} {
		if _, ttl := s.rawKey(s.ns("subscribed:" + ch)); ttl != -2 {
			t.Errorf("subscribed:%s written for a system channel (STR-8)", ch)
		}
	}
}

// STR-3: with a namespace, only the namespaced channel is subscribed; a
// message on the bare channel reaches nobody.
func TestNamespace_STR3(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.openStream("/api/v1/streaming/public/local?access_token=alice-read-token")
	s.waitSubscribed("timeline:public:local")
	for _, ch := range []string{"timeline:public:local", "x" + s.NS + ":timeline:public:local", s.NS + "timeline:public:local"} {
		n, err := s.Redis.Do(context.Background(), s.Redis.B().Publish().Channel(ch).Message(`{"event":"delete","payload":"bare"}`).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d subscribers; only %s should be subscribed", ch, n, s.ns("timeline:public:local"))
		}
	}
	s.publish("timeline:public:local", `{"event":"delete","payload":"namespaced"}`)
	c.expectBody(sseEvent("delete", "namespaced"))
}

// STR-4: an empty namespace means none; the bare channels and keys are used
// and delivery works (the reference delivers nothing here, Q12). A private
// Redis keeps the bare names away from the other tests.
func TestEmptyNamespace_STR4(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	s := startServer(t, func(c *serverConfig) { c.hub.Namespace = ""; c.redis = rs })
	c := s.openStream("/api/v1/streaming/user?access_token=bob-read-token")
	s.waitSubscribed("timeline:" + bob)
	s.waitSubscribed("timeline:" + bob + ":notifications")
	if val, ttl := s.rawKey("subscribed:timeline:" + bob); val != "1" || ttl < 1070 {
		t.Errorf("subscribed:timeline:%s = %q TTL %d", bob, val, ttl)
	}
	s.publish("timeline:"+bob, `{"event":"delete","payload":"1"}`)
	s.publish("timeline:"+bob+":notifications", `{"event":"notifications_merged","payload":"1"}`)
	c.expectBody(sseEvent("delete", "1") + sseEvent("notifications_merged", "1"))
}

// FLT-6, FLT-7, FLT-8, AUTH-13, Appendix A.5: with remote_live_feed_access
// disabled, alice loses remote statuses on /public for the life of her
// subscription, mod (view_feeds) keeps them, and hashtag streams use the
// separate topic settings. Not parallel: it changes a shared settings row.
func TestFeedAccess_FLT6(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	pg.Exec(t, `UPDATE settings SET value = E'--- disabled\n' WHERE var = 'remote_live_feed_access'`)
	t.Cleanup(func() {
		pg.Exec(t, `UPDATE settings SET value = E'--- public\n' WHERE var = 'remote_live_feed_access'`)
	})
	// storeTT 0: settings are read at every subscribe, so FLT-7 is visible.
	s := startServer(t, func(c *serverConfig) { c.storeTT = 0 })
	alicePub := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	modPub := s.openStream("/api/v1/streaming/public?access_token=mod-read-token")
	aliceTag := s.openStream("/api/v1/streaming/hashtag?tag=sunset&access_token=alice-read-token")
	aliceRemote := s.openStream("/api/v1/streaming/public/remote?access_token=alice-read-token")
	s.waitSubscribed("timeline:public")
	s.waitSubscribed("timeline:hashtag:sunset")
	s.waitSubscribed("timeline:public:remote")

	remote := status("10", "carol", "carol@remote.example")
	local := status("11", "bob", "bob")
	s.publish("timeline:public", `{"event":"update","payload":`+remote+`}`)
	s.publish("timeline:public", `{"event":"update","payload":`+local+`}`)
	s.publish("timeline:public", `{"event":"delete","payload":"10"}`) // EVT-1: not subject to feed access
	s.publish("timeline:hashtag:sunset", `{"event":"update","payload":`+remote+`}`)
	s.publish("timeline:public:remote", `{"event":"status.update","payload":`+remote+`}`)
	s.publish("timeline:public:remote", `{"event":"delete","payload":"12"}`)

	alicePub.expectBody(sseEvent("update", filteredStatus("11", "bob", "bob")) + sseEvent("delete", "10"))
	modPub.expectBody(sseEvent("update", filteredStatus("10", "carol", "carol@remote.example")) +
		sseEvent("update", filteredStatus("11", "bob", "bob")) + sseEvent("delete", "10"))
	aliceTag.expectBody(sseEvent("update", filteredStatus("10", "carol", "carol@remote.example")))
	aliceRemote.expectBody(sseEvent("delete", "12"))

	// FLT-7: re-enabling affects new subscriptions only.
	pg.Exec(t, `UPDATE settings SET value = E'--- public\n' WHERE var = 'remote_live_feed_access'`)
	fresh := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	s.publish("timeline:public", `{"event":"update","payload":`+remote+`}`)
	s.publish("timeline:public", `{"event":"delete","payload":"13"}`)
	fresh.expectBody(sseEvent("update", filteredStatus("10", "carol", "carol@remote.example")) + sseEvent("delete", "13"))
	alicePub.expectBody(sseEvent("delete", "13"))
}

// STR-8, STR-10: live subscribed: keys are rewritten every refresh
// interval (Rails loses them if Redis evicts or expires them), and keys of
// channels nobody streams any more are left alone (STR-9).
func TestSubscribedKeysRefresh_STR8(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *serverConfig) { c.hub.KeyRefresh = 200 * time.Millisecond })
	s.openStream("/api/v1/streaming/user?access_token=bob-read-token")
	gone := s.openStream("/api/v1/streaming/direct?access_token=bob-read-token")
	s.waitSubscribed("timeline:" + bob)
	s.waitSubscribed("timeline:direct:" + bob)
	gone.c.Close()
	waitFor(t, 5*time.Second, "direct stream released", func() bool { return s.Srv.Stats.EventSource.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // past the linger: the direct timeline is gone
	key, directKey := s.ns("subscribed:timeline:"+bob), s.ns("subscribed:timeline:direct:"+bob)
	for _, k := range []string{key, directKey} {
		if err := s.Redis.Do(context.Background(), s.Redis.B().Del().Key(k).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Second, "subscribed: key rewritten", func() bool {
		val, ttl := s.rawKey(key)
		return val == "1" && ttl > 1070
	})
	if _, ttl := s.rawKey(directKey); ttl != -2 {
		t.Errorf("%s rewritten although nobody streams that channel any more", directKey)
	}
}
