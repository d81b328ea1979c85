package auth

import "testing"

// AUTH-7, AUTH-9: split on single spaces, exact comparison.
func TestParseScopes_AUTH7_AUTH9(t *testing.T) {
	for _, tc := range []struct {
		in                      string
		want                    Scopes
		statuses, notifications bool
	}{
		{"read write follow push", ScopeRead, true, true},
		{"read", ScopeRead, true, true},
		{"read:statuses", ScopeReadStatuses, true, false},
		{"read:notifications", ScopeReadNotifications, false, true},
		{"read:statuses read:notifications", ScopeReadStatuses | ScopeReadNotifications, true, true},
		{"read  write", ScopeRead, true, true}, // double space: an empty piece, read still there
		{"write  read", ScopeRead, true, true}, // same, the other way round
		{"Read", 0, false, false},              // case-sensitive
		{"READ:STATUSES", 0, false, false},     // case-sensitive
		{"read:statuses:x", 0, false, false},   // no prefix matching
		{"read,write", 0, false, false},        // commas do not separate
		{"read\twrite", 0, false, false},       // nor tabs
		{" read", ScopeRead, true, true},       // leading space: empty piece, then read
		{"read ", ScopeRead, true, true},       // trailing space
		{"write follow push", 0, false, false}, // no read scope at all
		{"profile", 0, false, false},           // bob-profile-token
		{"", 0, false, false},                  // NULL scopes map to "" (AUTH-7)
		{"read:accounts read:lists", 0, false, false},
	} {
		got := ParseScopes(tc.in)
		if got != tc.want || got.AllowsStatuses() != tc.statuses || got.AllowsNotifications() != tc.notifications {
			t.Errorf("ParseScopes(%q) = %q (statuses %v, notifications %v); want %q (%v, %v)",
				tc.in, got, got.AllowsStatuses(), got.AllowsNotifications(), tc.want, tc.statuses, tc.notifications)
		}
	}
}

// AUTH-13: only view_feeds of the user's own role counts, unless
// SLUICE_RAILS_PERMISSIONS applies Rails' rules.
func TestCanViewFeeds_AUTH13(t *testing.T) {
	for _, tc := range []struct {
		name            string
		id              Identity
		reference, rail bool
	}{
		{"no role", Identity{}, false, false},
		{"moderator view_feeds", Identity{Permissions: 1<<20 | 16 | 65536}, true, true},
		{"administrator bit only", Identity{Permissions: 1}, false, true},
		{"everyone grants view_feeds", Identity{EveryonePermissions: 1 << 20}, false, true},
		{"everyone grants administrator", Identity{EveryonePermissions: 1}, false, true},
		{"everyone invite_users only", Identity{Permissions: 16, EveryonePermissions: 65536}, false, false},
	} {
		if got := tc.id.CanViewFeeds(false); got != tc.reference {
			t.Errorf("%s: CanViewFeeds(reference) = %v, want %v", tc.name, got, tc.reference)
		}
		if got := tc.id.CanViewFeeds(true); got != tc.rail {
			t.Errorf("%s: CanViewFeeds(rails) = %v, want %v", tc.name, got, tc.rail)
		}
	}
}
