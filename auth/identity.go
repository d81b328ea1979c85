package auth

// Role permission bits of user_roles.permissions (Mastodon's UserRole::FLAGS)
// that the streaming server reads.
const (
	PermissionAdministrator = 1 << 0  // implies every permission, under SLUICE_RAILS_PERMISSIONS only
	PermissionViewFeeds     = 1 << 20 // bypasses the feed-access settings (FLT-6)
)

// Identity is the result of the token lookup (AUTH-3). It is fixed for the
// life of the connection (AUTH-5) and read-only: concurrent lookups of one
// token share a single Identity (AUTH-6).
type Identity struct {
	TokenID   int64 // names timeline:access_token:<id> (SYS-1)
	AccountID int64 // names timeline:<id>, timeline:system:<id> …
	Scopes    Scopes

	// ChosenLanguages is users.chosen_languages. HasChosenLanguages tells
	// NULL (false: no language filter) from an empty array (true: every
	// status is dropped), which FLT-9 treats differently.
	ChosenLanguages    []string
	HasChosenLanguages bool

	// Permissions is the permissions of the user's own role, 0 when the
	// user has no role (AUTH-13).
	Permissions int64
	// EveryonePermissions is the permissions of the default "everyone" role
	// (id -99, 0 when missing). Only SLUICE_RAILS_PERMISSIONS consults it.
	EveryonePermissions int64
}

// CanViewFeeds reports whether the user's role grants view_feeds, which
// exempts the user from the feed-access settings (AUTH-13, FLT-6).
//
// With railsPermissions false (the reference) only bit 20 of the user's own
// role counts. With railsPermissions true (SLUICE_RAILS_PERMISSIONS) it
// follows Rails' UserRole#computed_permissions: the everyone role's bits are
// OR-ed in, and the administrator bit implies every permission.
func (id *Identity) CanViewFeeds(railsPermissions bool) bool {
	perms := id.Permissions
	if railsPermissions {
		perms |= id.EveryonePermissions
		if perms&PermissionAdministrator != 0 {
			return true
		}
	}
	return perms&PermissionViewFeeds != 0
}
