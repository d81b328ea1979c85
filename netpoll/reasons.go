package netpoll

// reason is every way a request or a connection ends, in one place
// (STYLE 9). It carries the HTTP status or WebSocket close code, the text a
// client sees, and a low-cardinality label for logs and metrics.
type reason struct {
	Status  int    // HTTP status, 0 when the connection just closes
	Message string // the spec's error string (HTTP-3)
	Label   string
}

var (
	// Stream gate (§3.3).
	reasonUnknownChannel = reason{400, "Unknown channel requested", "unknown_channel"}
	reasonMissingTag     = reason{400, "Missing tag name parameter", "missing_tag"}
	reasonMissingList    = reason{400, "Missing list name parameter", "missing_list"}
	reasonUnknownStream  = reason{400, "Unknown stream type", "unknown_stream"}
	reasonMissingToken   = reason{401, "Missing access token", "missing_token"}
	reasonInvalidToken   = reason{401, "Invalid access token", "invalid_token"}
	reasonScope          = reason{401, "Access token does not have the required scopes", "scope"}
	reasonListNotOwned   = reason{401, "Not authorized to stream this list", "list_not_owned"}
	reasonInternal       = reason{500, "An unexpected error occurred", "internal"}
	reasonTooManyConns   = reason{429, "Too many connections", "too_many_connections"}
	reasonTooManySubs    = reason{429, "Too many subscriptions", "too_many_subscriptions"}

	// Connection-level ends.
	reasonBadRequest    = reason{400, "", "bad_request"}
	reasonHeaderTimeout = reason{408, "", "header_timeout"}
	reasonIdle          = reason{0, "", "keepalive_idle"}
	reasonClientClosed  = reason{0, "", "client_closed"}
	reasonKill          = reason{0, "", "kill"}
	reasonSlowConsumer  = reason{0, "slow consumer", "slow_consumer"}
	reasonWriteStall    = reason{0, "slow consumer", "write_stall"}
	reasonFlood         = reason{0, "", "input_flood"}
	reasonShutdown      = reason{0, "server shutting down", "shutdown"}
)
