package auth

import "strings"

// Scopes is the set of OAuth scopes of a token that the streaming server
// cares about. Every other scope (write, follow, push, profile …) is ignored.
type Scopes uint16

const (
	ScopeRead              Scopes = 1 << iota // "read"
	ScopeReadStatuses                         // "read:statuses"
	ScopeReadNotifications                    // "read:notifications"
)

// ParseScopes parses oauth_access_tokens.scopes as the reference does
// (AUTH-7, AUTH-9): split on single spaces and compare each piece exactly, so
// "Read" is not "read", and a double space only adds an empty piece between
// two scopes. The Store maps a NULL column to "" (no scopes).
func ParseScopes(s string) Scopes {
	var set Scopes
	for s != "" {
		var piece string
		piece, s, _ = strings.Cut(s, " ")
		switch piece {
		case "read":
			set |= ScopeRead
		case "read:statuses":
			set |= ScopeReadStatuses
		case "read:notifications":
			set |= ScopeReadNotifications
		}
	}
	return set
}

// AllowsStatuses reports whether the token may open any stream other than
// user:notification: it needs read or read:statuses (AUTH-9).
func (s Scopes) AllowsStatuses() bool {
	return s&(ScopeRead|ScopeReadStatuses) != 0
}

// AllowsNotifications reports whether the token may open user:notification,
// and whether the user stream includes notifications: it needs read or
// read:notifications (AUTH-9, AUTH-10).
func (s Scopes) AllowsNotifications() bool {
	return s&(ScopeRead|ScopeReadNotifications) != 0
}

// String lists the scopes in the set, space separated, for logs and tests.
func (s Scopes) String() string {
	var parts []string
	if s&ScopeRead != 0 {
		parts = append(parts, "read")
	}
	if s&ScopeReadStatuses != 0 {
		parts = append(parts, "read:statuses")
	}
	if s&ScopeReadNotifications != 0 {
		parts = append(parts, "read:notifications")
	}
	return strings.Join(parts, " ")
}
