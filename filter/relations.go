package filter

import (
	"slices"
)

// Relations holds one account's relationship sets (FLT-3, FLT-5). A value is
// immutable once built: one is shared by all of the account's connections
// and read from any goroutine. Every slice is sorted ascending without
// duplicates; NewRelations establishes that.
type Relations struct {
	Blocking     []int64  // blocks.target_account_id where account_id = me
	BlockedBy    []int64  // blocks.account_id where target_account_id = me
	Muting       []int64  // mutes.target_account_id where account_id = me (expiry and hide_notifications ignored)
	DomainBlocks []string // account_domain_blocks.domain where account_id = me
}

// NewRelations sorts and deduplicates the sets in place and returns them as
// Relations, which owns the slices from then on.
func NewRelations(blocking, blockedBy, muting []int64, domainBlocks []string) *Relations {
	return &Relations{
		Blocking:     sortedSet(blocking),
		BlockedBy:    sortedSet(blockedBy),
		Muting:       sortedSet(muting),
		DomainBlocks: sortedSet(domainBlocks),
	}
}

func sortedSet[T int64 | string](s []T) []T {
	slices.Sort(s)
	return slices.Clip(slices.Compact(s))
}

// Drops reports whether the relationship rules drop ev for the account whose
// sets r holds (FLT-3): it blocks or mutes the author or a mentioned
// account, the author blocks it, or it blocks the author's domain (exact,
// case-sensitive). Mentioned accounts that block it do not count (FLT-4).
// An event with an invalid id is dropped (FLT-2). A nil r has empty sets.
// Any goroutine; it does not allocate.
func (r *Relations) Drops(ev *Event) bool { return r.DropReason(ev) != Keep }

// Reason says why a rule dropped an event, for the metrics of X-11.
type Reason uint8

const (
	Keep        Reason = iota
	Malformed          // an invalid status id (FLT-2)
	Block              // the recipient blocks, or is blocked by, the author or blocks a mention
	Mute               // the recipient mutes the author or a mentioned account
	DomainBlock        // the recipient blocks the author's domain
)

// DropReason is Drops with the rule that fired. It does not allocate.
func (r *Relations) DropReason(ev *Event) Reason {
	if ev.InvalidID {
		return Malformed
	}
	if r == nil {
		return Keep
	}
	if ev.HasAuthor {
		if has(r.Blocking, ev.AuthorID) || has(r.BlockedBy, ev.AuthorID) {
			return Block
		}
		if has(r.Muting, ev.AuthorID) {
			return Mute
		}
	}
	for _, id := range ev.Mentions {
		if has(r.Blocking, id) {
			return Block
		}
		if has(r.Muting, id) {
			return Mute
		}
	}
	if ev.Domain != "" && len(r.DomainBlocks) > 0 {
		if _, found := slices.BinarySearch(r.DomainBlocks, ev.Domain); found {
			return DomainBlock
		}
	}
	return Keep
}

func has(set []int64, id int64) bool {
	if len(set) == 0 {
		return false
	}
	_, found := slices.BinarySearch(set, id)
	return found
}

// LanguageDrops reports whether the language rule drops ev (FLT-9): with
// chosen languages set (hasChosen, even when chosen is empty), a status is
// kept only when its language is a string equal to one of them. It takes
// auth.Identity's ChosenLanguages and HasChosenLanguages. Any goroutine; it
// does not allocate.
func LanguageDrops(ev *Event, chosen []string, hasChosen bool) bool {
	if !hasChosen {
		return false
	}
	return !ev.HasLanguage || !slices.Contains(chosen, ev.Language)
}
