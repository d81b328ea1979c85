package filter

import (
	"fmt"
	"testing"
)

// aliceRelations is alice's rows in fixtures/seed.sql.
func aliceRelations() *Relations {
	return NewRelations([]int64{troll}, []int64{hater}, []int64{noisy}, []string{"spam.example"})
}

func statusBy(id int64, username, acct string, mentions ...int64) string {
	s := fmt.Sprintf(`{"account":{"id":"%d","username":%q,"acct":%q},"mentions":[`, id, username, acct)
	for i, m := range mentions {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(`{"id":"%d","username":"x","acct":"x"}`, m)
	}
	return s + `]}`
}

// FLT-3 / FLT-4 with the seed's relationships and the outcomes of A.5.
func TestRelationsDrops_Seed_FLT3(t *testing.T) {
	r := aliceRelations()
	for _, tc := range []struct {
		name   string
		status string
		want   Reason
	}{
		{"A.5 troll, blocked by alice", statusBy(troll, "troll", "troll@remote.example"), Block},
		{"A.5 hater, who blocks alice", statusBy(hater, "hater", "hater"), Block},
		{"A.5 noisy, muted by alice", statusBy(noisy, "noisy", "noisy"), Mute},
		{"A.5 spammer@spam.example, domain blocked", statusBy(spammer, "spammer", "spammer@spam.example"), DomainBlock},
		{"A.5 carol mentioning troll", statusBy(carol, "carol", "carol@remote.example", troll), Block},
		{"carol mentioning noisy (muted target)", statusBy(carol, "carol", "carol@remote.example", bob, noisy), Mute},
		{"A.5 carol alone", statusBy(carol, "carol", "carol@remote.example"), Keep},
		{"A.5 bob", statusBy(bob, "bob", "bob", carol), Keep},
		{"FLT-4 mentioning hater, who blocks alice", statusBy(bob, "bob", "bob", hater), Keep},
		{"domain match is exact: subdomain", statusBy(carol, "x", "x@sub.spam.example"), Keep},
		{"domain match is case-sensitive", statusBy(carol, "x", "x@Spam.Example"), Keep},
		{"second @ ends the domain", statusBy(carol, "x", "x@spam.example@elsewhere"), DomainBlock},
		{"mentioned accounts' domains are not checked", `{"account":{"id":"1","username":"a","acct":"a"},"mentions":[{"id":"2","acct":"y@spam.example"}]}`, Keep},
		{"alice's own status", statusBy(alice, "alice", "alice"), Keep},
		{"no author id: the rules on the author cannot match", `{"account":{"username":"troll","acct":"troll@remote.example"}}`, Keep},
		{"FLT-2 invalid author id", `{"account":{"id":"abc","username":"a","acct":"a"}}`, Malformed},
		{"FLT-2 invalid mention id", `{"account":{"id":"1","username":"a","acct":"a"},"mentions":[{"id":1.5}]}`, Malformed},
	} {
		ev := event(t, tc.status)
		if got := r.DropReason(ev); got != tc.want {
			t.Errorf("%s: DropReason = %v, want %v", tc.name, got, tc.want)
		}
		if got := r.Drops(ev); got != (tc.want != Keep) {
			t.Errorf("%s: Drops = %v, want %v", tc.name, got, tc.want != Keep)
		}
	}
	// bob has no relationships: only an invalid id drops.
	var none *Relations
	if none.Drops(event(t, statusBy(troll, "troll", "troll@remote.example"))) {
		t.Error("nil Relations dropped a valid status")
	}
	if !none.Drops(event(t, `{"account":{"id":"x","username":"a","acct":"a"}}`)) {
		t.Error("nil Relations kept a status with an invalid id (FLT-2)")
	}
}

func TestNewRelations_SortsAndDedups(t *testing.T) {
	r := NewRelations([]int64{5, 1, 5, 3}, nil, []int64{2, 2}, []string{"b", "a", "b"})
	if fmt.Sprint(r.Blocking, r.BlockedBy, r.Muting, r.DomainBlocks) != "[1 3 5] [] [2] [a b]" {
		t.Errorf("got %v %v %v %v", r.Blocking, r.BlockedBy, r.Muting, r.DomainBlocks)
	}
	for _, id := range []int64{1, 3, 5} {
		if !r.Drops(event(t, statusBy(id, "a", "a"))) {
			t.Errorf("blocked %d not dropped", id)
		}
	}
	if r.Drops(event(t, statusBy(4, "a", "a"))) {
		t.Error("4 dropped")
	}
}

// FLT-9 with bob's chosen_languages {en,de}, NULL and an empty array.
func TestLanguageDrops_FLT9(t *testing.T) {
	bobLangs := []string{"en", "de"}
	for _, tc := range []struct {
		language  string // JSON value, "" for absent
		chosen    []string
		hasChosen bool
		drop      bool
	}{
		{`"en"`, bobLangs, true, false},
		{`"de"`, bobLangs, true, false},
		{`"fr"`, bobLangs, true, true}, // A.5: bob loses the fr status
		{`null`, bobLangs, true, true}, // A.5: and the language: null one
		{"", bobLangs, true, true},
		{`"EN"`, bobLangs, true, true}, // exact, case-sensitive
		{`"en-GB"`, bobLangs, true, true},
		{`1`, bobLangs, true, true},
		{`"en"`, []string{}, true, true}, // empty array: everything dropped
		{`"fr"`, nil, false, false},      // NULL: no language filter (alice)
		{`null`, nil, false, false},
	} {
		s := `{"account":{"username":"a","acct":"a"}}`
		if tc.language != "" {
			s = `{"account":{"username":"a","acct":"a"},"language":` + tc.language + `}`
		}
		if got := LanguageDrops(event(t, s), tc.chosen, tc.hasChosen); got != tc.drop {
			t.Errorf("language %s, chosen %v (set %v): drop %v, want %v", tc.language, tc.chosen, tc.hasChosen, got, tc.drop)
		}
	}
}
