//go:build !race

package filter

import "testing"

// Deterministic allocation counts for the per-recipient path (STYLE 6),
// kept out of -race builds, where checkptr may move values to the heap.

func TestPerRecipientAllocs(t *testing.T) {
	r := aliceRelations()
	dropped := event(t, statusBy(carol, "carol", "carol@remote.example", bob, troll))
	kept := event(t, statusBy(carol, "carol", "carol@remote.example", bob))
	blockedDomain := event(t, statusBy(spammer, "spammer", "spammer@spam.example"))
	langs := []string{"en", "de"}
	if a := testing.AllocsPerRun(100, func() {
		if !r.Drops(dropped) || r.Drops(kept) || !r.Drops(blockedDomain) {
			t.Fatal("wrong decision")
		}
		if !LanguageDrops(kept, langs, true) || LanguageDrops(kept, nil, false) {
			t.Fatal("wrong language decision")
		}
	}); a != 0 {
		t.Errorf("Relations.Drops / LanguageDrops allocate %v times", a)
	}

	fs := NewFilterSet(aliceFilters())
	noMatch := event(t, withContent("<p>A calm sunset over the sea</p>"))
	match := event(t, withContent("<p>spoiler: bitcoin</p>"))
	var none *FilterSet
	dst := make([]byte, 0, 4096)
	if a := testing.AllocsPerRun(100, func() {
		if out, matched := fs.AppendResults(dst[:0], &noMatch.Text, evalTime); matched || string(out) != "[]" {
			t.Fatal("unexpected match")
		}
		if _, matched := none.AppendResults(dst[:0], &match.Text, evalTime); matched {
			t.Fatal("nil FilterSet matched")
		}
	}); a != 0 {
		t.Errorf("AppendResults without a match allocates %v times", a)
	}
	// A match only writes into dst's spare capacity.
	if a := testing.AllocsPerRun(100, func() {
		if _, matched := fs.AppendResults(dst[:0], &match.Text, evalTime); !matched {
			t.Fatal("no match")
		}
	}); a != 0 {
		t.Errorf("AppendResults with a match into a grown dst allocates %v times", a)
	}
}
