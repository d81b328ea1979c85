package netpoll_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// End-to-end tests of per-recipient filtering (§8) with the seed accounts:
// alice blocks troll, hater blocks alice, alice mutes noisy and blocks the
// domain spam.example; her filters are Spoilers/warn {spoiler, GoT},
// Crypto/hide {bitcoin} (expiring in 30 days) and Old (expired); bob has
// chosen_languages {en,de} and no filters. Every assertion is on bytes.
//
// Tests that insert rows use a private PostgreSQL, so the parallel tests
// reading the shared seed never see them.

// Seed accounts as Rails renders them in a status (S.account, S.mentions[]).
const (
	acctBob     = `{"id":"109000000000000002","username":"bob","acct":"bob"}`
	acctCarol   = `{"id":"109000000000000003","username":"carol","acct":"carol@remote.example"}`
	acctMod     = `{"id":"109000000000000007","username":"mod","acct":"mod"}`
	acctSpammer = `{"id":"109000000000000008","username":"spammer","acct":"spammer@spam.example"}`
	acctTroll   = `{"id":"109000000000000009","username":"troll","acct":"troll@remote.example"}`
	acctNoisy   = `{"id":"109000000000000010","username":"noisy","acct":"noisy"}`
	acctHater   = `{"id":"109000000000000011","username":"hater","acct":"hater"}`
)

// post is a public status as Rails publishes it on timeline:public*, in
// canonical form (so that a delivered copy is the same text plus
// "filtered"). lang is raw JSON ("en" with quotes, null) or "" for none.
type post struct {
	id, account, lang, spoiler, content string
	media, mentions                     string // JSON arrays; "" is []
	extra                               string // raw members inserted after "id", e.g. `"filtered":[],`
}

func (p post) json() string {
	var b strings.Builder
	b.WriteString(`{"id":"` + p.id + `",` + p.extra + `"created_at":"2026-11-23T10:00:00.000Z","sensitive":false,"spoiler_text":"` + p.spoiler + `","visibility":"public",`)
	if p.lang != "" {
		b.WriteString(`"language":` + p.lang + `,`)
	}
	b.WriteString(`"content":"` + p.content + `","account":` + p.account + `,"media_attachments":` + orEmpty(p.media) +
		`,"mentions":` + orEmpty(p.mentions) + `,"tags":[]}`)
	return b.String()
}

func orEmpty(array string) string {
	if array == "" {
		return "[]"
	}
	return array
}

// update is the Redis message publishing p as event name.
func (p post) update(name string) string {
	return `{"event":"` + name + `","payload":` + p.json() + `}`
}

// filtered is p as a filtered stream delivers it: "filtered" appended as the
// last key (FLT-11).
func (p post) filtered(results string) string {
	s := p.json()
	return s[:len(s)-1] + `,"filtered":` + results + `}`
}

// filterResult is one entry of "filtered" (FLT-15); expires is raw JSON.
func filterResult(id, title, context, expires, action, match string) string {
	f := `{"id":"` + id + `","title":"` + title + `","context":` + context + `,"expires_at":` + expires
	if action != "" {
		f += `,"filter_action":"` + action + `"`
	}
	return `{"filter":` + f + `},"keyword_matches":["` + match + `"],"status_matches":null}`
}

// spoilers is the Spoilers filter's result for a match (FLT-15).
func spoilers(match string) string {
	return filterResult("1", "Spoilers", `["home","public","thread"]`, "null", "warn", match)
}

// cryptoExpiresAt is the Crypto filter's expires_at as FLT-15 formats it,
// read from its row: the timestamp taken as UTC, truncated to milliseconds.
func cryptoExpiresAt(t *testing.T, pg *testenv.Postgres) string {
	t.Helper()
	var exp time.Time
	if err := pg.Pool(t).QueryRow(context.Background(), `SELECT expires_at FROM custom_filters WHERE id = 2`).Scan(&exp); err != nil {
		t.Fatalf("reading the Crypto filter: %v", err)
	}
	return `"` + exp.UTC().Format("2006-01-02T15:04:05.000Z") + `"`
}

// publicStep is one message on a filtered channel and what alice and bob
// receive from it ("" = nothing).
type publicStep struct {
	msg        string
	name       string // event name delivered
	alice, bob string // payload delivered
}

// publicSteps are Appendix A.5's outcomes and the rules around them, in
// publishing order.
func publicSteps(crypto string) []publicStep {
	photo := `[{"id":"7","type":"image","url":"https://remote.example/m/7.jpg","meta":{"small":{"width":400,"height":400,"aspect":1.0}},` +
		`"description":"A photo of a sunset over the sea, spoiler free","blurhash":null}]`
	photoOut := strings.Replace(photo, `"aspect":1.0`, `"aspect":1`, 1) // ENC-1
	mentionTroll := `[{"id":"109000000000000009","username":"troll","url":"https://remote.example/@troll","acct":"troll@remote.example"}]`
	a1 := post{id: "115600000000000001", account: acctCarol, lang: `"en"`, content: "<p>Sunset</p>", media: photo}
	a1Out := a1
	a1Out.media = photoOut
	both := post{id: "115600000000000007", account: acctBob, lang: `"en"`, content: "<p>Huge spoiler … bitcoin is back</p>"}
	big := post{id: "115600000000000008", account: acctCarol, lang: `"en"`, spoiler: "Big Spoiler ahead", content: "<p>The end</p>"}
	gotIt := post{id: "115600000000000009", account: acctCarol, lang: `"en"`, content: "<p>I got<br>it</p>"}
	plural := post{id: "115600000000000010", account: acctBob, lang: `"en"`, content: "<p>Many spoilers</p>"}
	expired := post{id: "115600000000000011", account: acctBob, lang: `"en"`, content: "<p>expiredword</p>"}
	fr := post{id: "115600000000000012", account: acctCarol, lang: `"fr"`, content: "<p>bonjour</p>"}
	null := post{id: "115600000000000013", account: acctCarol, lang: "null", content: "<p>hi</p>"}
	none := post{id: "115600000000000014", account: acctCarol, content: "<p>hi</p>"}
	de := post{id: "115600000000000015", account: acctBob, lang: `"de"`, content: "<p>hallo</p>"}
	kept := post{id: "115600000000000016", account: acctBob, lang: `"en"`, extra: `"filtered":[{"filter":{"id":"9"}}],`, content: "<p>spoiler</p>"}
	keptNull := post{id: "115600000000000017", account: acctBob, lang: `"en"`, extra: `"filtered":null,`, content: "<p>bitcoin</p>"}
	badID := post{id: "115600000000000018", account: acctBob, lang: `"en"`, content: "<p>hi</p>", mentions: `[{"id":"abc","username":"x","acct":"x"}]`}
	noIDs := post{id: "115600000000000019", account: acctBob, lang: `"en"`, content: "<p>hi</p>", mentions: `[{"id":null,"acct":"x"},{"acct":"y"}]`}
	plain := post{id: "115600000000000020", account: acctBob, lang: `"en"`, content: "<p>hello</p>"}
	trollEdit := post{id: "115600000000000021", account: acctTroll, lang: `"en"`, content: "<p>edited</p>"}
	deleted := func(id string) publicStep {
		return publicStep{`{"event":"delete","payload":"` + id + `"}`, "delete", id, id}
	}
	forBob := func(p post) publicStep { return publicStep{p.update("update"), "update", "", p.filtered("[]")} }
	return []publicStep{
		// FLT-3 for alice; bob has no relationships.
		forBob(post{id: "115600000000000002", account: acctTroll, lang: `"en"`, content: "<p>troll</p>"}),                            // alice blocks troll
		forBob(post{id: "115600000000000003", account: acctHater, lang: `"en"`, content: "<p>hater</p>"}),                            // hater blocks alice
		forBob(post{id: "115600000000000004", account: acctNoisy, lang: `"en"`, content: "<p>noisy</p>"}),                            // alice mutes noisy
		forBob(post{id: "115600000000000005", account: acctSpammer, lang: `"en"`, content: "<p>spam</p>"}),                           // domain block
		forBob(post{id: "115600000000000006", account: acctCarol, lang: `"en"`, content: "<p>hi troll</p>", mentions: mentionTroll}), // mentions troll
		// A.1: "spoiler free" in a media description.
		{a1.update("update"), "update", a1Out.filtered("[" + spoilers("spoiler") + "]"), a1Out.filtered("[]")},
		// A.5: two results in filter id order, Crypto's expires_at from its row.
		{both.update("update"), "update",
			both.filtered("[" + spoilers("spoiler") + "," + filterResult("2", "Crypto", `["public"]`, crypto, "hide", "bitcoin") + "]"),
			both.filtered("[]")},
		// FLT-15: the matched text with its case in T; status.update too.
		{big.update("status.update"), "status.update", big.filtered("[" + spoilers("Spoiler") + "]"), big.filtered("[]")},
		{gotIt.update("update"), "update", gotIt.filtered("[" + spoilers("got") + "]"), gotIt.filtered("[]")},
		// FLT-13: whole word; FLT-14: an expired filter never matches.
		{plural.update("update"), "update", plural.filtered("[]"), plural.filtered("[]")},
		{expired.update("update"), "update", expired.filtered("[]"), expired.filtered("[]")},
		// FLT-9: bob keeps en and de only; null or no language is dropped.
		{fr.update("update"), "update", fr.filtered("[]"), ""},
		{null.update("update"), "update", null.filtered("[]"), ""},
		{none.update("update"), "update", none.filtered("[]"), ""},
		{de.update("update"), "update", de.filtered("[]"), de.filtered("[]")},
		// FLT-10: a filtered key Rails already set is kept as is, where it is.
		{kept.update("update"), "update", kept.json(), kept.json()},
		{keptNull.update("update"), "update", keptNull.json(), keptNull.json()},
		// FLT-2: an invalid mention id drops the event at step 4; absent or
		// null ids are ignored.
		{badID.update("update"), "", "", ""},
		{noIDs.update("update"), "update", noIDs.filtered("[]"), noIDs.filtered("[]")},
		// EVT-1: delete passes, even for a status alice never saw.
		deleted("115600000000000002"),
		{trollEdit.update("status.update"), "status.update", "", trollEdit.filtered("[]")},
		{plain.update("update"), "update", plain.filtered("[]"), plain.filtered("[]")},
	}
}

// sseWant is what an SSE client of who ("alice" or "bob") receives from
// steps.
func sseWant(steps []publicStep, who string) string {
	var b strings.Builder
	for _, st := range steps {
		data := st.alice
		if who == "bob" {
			data = st.bob
		}
		if data != "" {
			b.WriteString(sseEvent(st.name, data))
		}
	}
	return b.String()
}

// Appendix A.5, A.1, FLT-2..FLT-15, EVT-1 over SSE: alice and bob on
// /public; alice on a second /public connection gets the same bytes.
func TestPublicFiltering_A5_SSE(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	steps := publicSteps(cryptoExpiresAt(t, s.PG))
	alicePub := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	alicePub2 := s.openStream("/api/v1/streaming/public?access_token=alice-statuses-token")
	bobPub := s.openStream("/api/v1/streaming/public?access_token=bob-read-token")
	s.waitSubscribed("timeline:public")
	msgs := make([]string, len(steps))
	for i, st := range steps {
		msgs[i] = st.msg
	}
	s.publishAll("timeline:public", msgs...)
	alicePub.expectBody(sseWant(steps, "alice"))
	alicePub2.expectBody(sseWant(steps, "alice"))
	bobPub.expectBody(sseWant(steps, "bob"))
	alicePub.quiet(100 * time.Millisecond)
	bobPub.quiet(10 * time.Millisecond)
}

// Appendix A.5 over WebSocket: the same outcomes for alice with the
// stream-name envelope (WS-6).
func TestPublicFiltering_A5_WebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	steps := publicSteps(cryptoExpiresAt(t, s.PG))
	alice := s.dialWSAs("alice-read-token", "?stream=public")
	bobWS := s.dialWSAs("bob-read-token", "?stream=public")
	alice.sync()
	bobWS.sync()
	s.waitSubscribed("timeline:public")
	msgs := make([]string, len(steps))
	for i, st := range steps {
		msgs[i] = st.msg
	}
	s.publishAll("timeline:public", msgs...)
	for _, st := range steps {
		for _, rc := range []struct {
			w    *wsClient
			data string
		}{{alice, st.alice}, {bobWS, st.bob}} {
			if rc.data == "" {
				continue
			}
			payload := wsQuote(rc.data)
			if st.name == "delete" {
				payload = `"` + rc.data + `"`
			}
			rc.w.expectText(wsEvent(`["public"]`, st.name, payload))
		}
	}
	alice.quietWS(100 * time.Millisecond)
	bobWS.quietWS(10 * time.Millisecond)
}

// §8 applies to hashtag streams too, over SSE and over a WebSocket
// subscription made by message.
func TestHashtagFiltering(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sse := s.openStream("/api/v1/streaming/hashtag?tag=sunset&access_token=alice-read-token")
	w := s.dialWSAs("alice-read-token", "")
	w.sendText(`{"type":"subscribe","stream":"hashtag:local","tag":"Sunset"}`)
	w.sync()
	s.waitSubscribed("timeline:hashtag:sunset")
	s.waitSubscribed("timeline:hashtag:sunset:local")

	troll := post{id: "1", account: acctTroll, lang: `"en"`, content: "<p>#sunset</p>"}
	noisy := post{id: "2", account: acctNoisy, lang: `"en"`, content: "<p>#sunset</p>"}
	warn := post{id: "3", account: acctBob, lang: `"en"`, content: "<p>#sunset spoiler</p>"}
	plain := post{id: "4", account: acctBob, lang: `"en"`, content: "<p>#sunset</p>"}
	s.publishAll("timeline:hashtag:sunset", troll.update("update"), warn.update("update"), `{"event":"delete","payload":"1"}`)
	s.publishAll("timeline:hashtag:sunset:local", noisy.update("update"), plain.update("status.update"), warn.update("update"))

	sse.expectBody(sseEvent("update", warn.filtered("["+spoilers("spoiler")+"]")) + sseEvent("delete", "1"))
	w.expectText(wsEvent(`["hashtag:local","Sunset"]`, "status.update", wsQuote(plain.filtered("[]"))))
	w.expectText(wsEvent(`["hashtag:local","Sunset"]`, "update", wsQuote(warn.filtered("["+spoilers("spoiler")+"]"))))
	sse.quiet(50 * time.Millisecond)
	w.quietWS(10 * time.Millisecond)
}

// EVT-2: user, list and direct streams are never filtered: no language
// rule, no relationships, no "filtered" key.
func TestUnfilteredStreams_EVT2(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	bobHome := s.openStream("/api/v1/streaming/user?access_token=bob-read-token")
	aliceHome := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	aliceList := s.openStream("/api/v1/streaming/list?list=1&access_token=alice-read-token")
	aliceDirect := s.openStream("/api/v1/streaming/direct?access_token=alice-read-token")
	aliceWS := s.dialWSAs("alice-read-token", "?stream=user")
	aliceWS.sync()
	for _, ch := range []string{"timeline:" + bob, "timeline:" + alice, "timeline:list:1", "timeline:direct:" + alice} {
		s.waitSubscribed(ch)
	}
	fr := post{id: "1", account: acctCarol, lang: `"fr"`, content: "<p>bonjour</p>"}
	troll := post{id: "2", account: acctTroll, lang: `"en"`, content: "<p>spoiler</p>"}
	s.publish("timeline:"+bob, fr.update("update"))
	s.publish("timeline:"+alice, troll.update("update"))
	s.publish("timeline:"+alice, troll.update("status.update"))
	s.publish("timeline:list:1", troll.update("update"))
	s.publish("timeline:direct:"+alice, troll.update("update"))

	bobHome.expectBody(sseEvent("update", fr.json()))
	aliceHome.expectBody(sseEvent("update", troll.json()) + sseEvent("status.update", troll.json()))
	aliceList.expectBody(sseEvent("update", troll.json()))
	aliceDirect.expectBody(sseEvent("update", troll.json()))
	aliceWS.expectText(wsEvent(`["user"]`, "update", wsQuote(troll.json())))
	aliceWS.expectText(wsEvent(`["user"]`, "status.update", wsQuote(troll.json())))
}

// FLT-5: blocks and mutes created while alice streams take effect within
// the TTL. Rails announces none of them, so only the bound is asserted:
// right after the insert a status may still come through; once the TTL has
// passed since the insert it never does. Covers alice blocking, muting,
// and being blocked (the author's block of her).
func TestRelationsChangeWhileStreaming_FLT5(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	pg := testenv.StartPostgres(t) // private: rows are inserted
	s := startServer(t, func(c *serverConfig) { c.pg = pg; c.storeTT = ttl })
	sse := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	w := s.dialWSAs("alice-read-token", "?stream=public")
	w.sync()
	s.waitSubscribed("timeline:public")

	marker := 0
	// publishThenMark publishes p and a delete marker and returns what alice
	// receives if p is delivered and the marker's SSE and WS forms.
	publishThenMark := func(p post) (update, mark string) {
		marker++
		id := "m" + itoa(marker)
		s.publishAll("timeline:public", p.update("update"), `{"event":"delete","payload":"`+id+`"}`)
		return p.filtered("[]"), id
	}
	// expectDropped reads up to the marker and asserts p was not before it.
	expectDropped := func(p post) {
		t.Helper()
		_, id := publishThenMark(p)
		sse.expectBody(sseEvent("delete", id))
		w.expectText(wsEvent(`["public"]`, "delete", `"`+id+`"`))
	}
	expectDelivered := func(p post) {
		t.Helper()
		upd, id := publishThenMark(p)
		sse.expectBody(sseEvent("update", upd) + sseEvent("delete", id))
		w.expectText(wsEvent(`["public"]`, "update", wsQuote(upd)))
		w.expectText(wsEvent(`["public"]`, "delete", `"`+id+`"`))
	}
	// expectEither reads up to the marker, with or without p before it.
	expectEither := func(p post) {
		t.Helper()
		upd, id := publishThenMark(p)
		with, without := sseEvent("update", upd)+sseEvent("delete", id), sseEvent("delete", id)
		first := sse.body(len(without), 5*time.Second)
		if first != without {
			if rest := sse.body(len(with)-len(first), 5*time.Second); first+rest != with {
				t.Fatalf("SSE body:\n got %q\nwant %q or %q", first+rest, with, without)
			}
		}
		if _, got := w.next(5 * time.Second); string(got) == wsEvent(`["public"]`, "update", wsQuote(upd)) {
			w.expectText(wsEvent(`["public"]`, "delete", `"`+id+`"`))
		} else if string(got) != wsEvent(`["public"]`, "delete", `"`+id+`"`) {
			t.Fatalf("WebSocket frame %s, want the status or marker %s", got, id)
		}
	}

	phases := []struct {
		name, insert, undo string
		author             string
	}{
		{"alice blocks carol",
			`INSERT INTO blocks (account_id, target_account_id) VALUES (109000000000000001, 109000000000000003)`,
			`DELETE FROM blocks WHERE account_id = 109000000000000001 AND target_account_id = 109000000000000003`, acctCarol},
		{"alice mutes bob",
			`INSERT INTO mutes (account_id, target_account_id) VALUES (109000000000000001, 109000000000000002)`,
			`DELETE FROM mutes WHERE account_id = 109000000000000001 AND target_account_id = 109000000000000002`, acctBob},
		{"mod blocks alice",
			`INSERT INTO blocks (account_id, target_account_id) VALUES (109000000000000007, 109000000000000001)`,
			`DELETE FROM blocks WHERE account_id = 109000000000000007 AND target_account_id = 109000000000000001`, acctMod},
	}
	for i, ph := range phases {
		p := func(n int) post {
			return post{id: itoa(100*i + n), account: ph.author, lang: `"en"`, content: "<p>hello</p>"}
		}
		expectDelivered(p(1))
		pg.Exec(t, ph.insert)
		t.Cleanup(func() { pg.Exec(t, ph.undo) })
		inserted := time.Now()
		expectEither(p(2)) // within the TTL: either is allowed
		time.Sleep(time.Until(inserted.Add(ttl + 100*time.Millisecond)))
		expectDropped(p(3))
		expectDropped(p(4))
		t.Logf("%s: dropped once the TTL had passed", ph.name)
	}
}

// FLT-16, SYS-4, EVT-3: a filter created and announced with filters_changed
// on timeline:system:<alice> applies to the very next status although the
// TTL is long, and filters_changed reaches no client. Removing it works the
// same way. The blur action has no filter_action (FLT-15).
func TestFiltersChanged_FLT16(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t) // private: rows are inserted
	s := startServer(t, func(c *serverConfig) { c.pg = pg; c.storeTT = time.Hour })
	pub := s.openStream("/api/v1/streaming/public?access_token=alice-read-token")
	home := s.openStream("/api/v1/streaming/user?access_token=alice-read-token")
	w := s.dialWSAs("alice-read-token", "?stream=public")
	w.sync()
	for _, ch := range []string{"timeline:public", "timeline:" + alice, "timeline:system:" + alice} {
		s.waitSubscribed(ch)
	}
	dragons := post{id: "1", account: acctBob, lang: `"en"`, content: "<p>Here be Dragons</p>"}
	announce := func(marker string) {
		// Rails publishes filters_changed on both of the account's channels.
		publishMixed(s,
			[]string{"timeline:" + alice, "timeline:system:" + alice, "timeline:public", "timeline:public", "timeline:" + alice},
			[]string{`{"event":"filters_changed"}`, `{"event":"filters_changed"}`, dragons.update("update"),
				`{"event":"delete","payload":"` + marker + `"}`, `{"event":"delete","payload":"` + marker + `"}`})
	}
	expect := func(results, marker string) {
		t.Helper()
		pub.expectBody(sseEvent("update", dragons.filtered(results)) + sseEvent("delete", marker))
		w.expectText(wsEvent(`["public"]`, "update", wsQuote(dragons.filtered(results))))
		w.expectText(wsEvent(`["public"]`, "delete", `"`+marker+`"`))
		home.expectBody(sseEvent("delete", marker)) // EVT-3: nothing before the marker
	}

	s.publish("timeline:public", dragons.update("update"))
	pub.expectBody(sseEvent("update", dragons.filtered("[]")))
	w.expectText(wsEvent(`["public"]`, "update", wsQuote(dragons.filtered("[]"))))

	pg.Exec(t, `INSERT INTO custom_filters (id, account_id, phrase, context, action, expires_at) VALUES (500, 109000000000000001, 'Dragons', '{public}', 2, NULL)`)
	pg.Exec(t, `INSERT INTO custom_filter_keywords (id, custom_filter_id, keyword, whole_word) VALUES (500, 500, 'dragon', false)`)
	t.Cleanup(func() {
		pg.Exec(t, `DELETE FROM custom_filter_keywords WHERE id = 500`)
		pg.Exec(t, `DELETE FROM custom_filters WHERE id = 500`)
	})
	announce("m1")
	expect("["+filterResult("500", "Dragons", `["public"]`, "null", "", "Dragon")+"]", "m1")

	pg.Exec(t, `DELETE FROM custom_filter_keywords WHERE id = 500`)
	announce("m2")
	expect("[]", "m2")
	pub.quiet(50 * time.Millisecond)
	home.quiet(10 * time.Millisecond)
}
