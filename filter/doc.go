// Package filter decides, per recipient, what §8 of the contract does with a
// status on a public or hashtag stream: drop it for language (FLT-9) or
// relationship (FLT-3) reasons, or compute the "filtered" results of the
// recipient's custom filters (FLT-10–FLT-15). It is pure: no database, no
// sockets, no clock (callers pass the evaluation time).
//
// Work is split by how often it runs. NewEvent runs once per event: it
// validates the status (FLT-1, FLT-2), extracts the author, mentions,
// domain and language, and builds the searched text T (FLT-12: HTML text
// content and case fold). NewRelations and NewFilterSet run once per account
// load (package auth caches them per account). Relations.Drops,
// LanguageDrops and FilterSet.AppendResults run once per recipient and
// allocate nothing, so they may run on an event loop.
//
// Everything this package returns is immutable after construction and safe
// to read from any goroutine.
//
// The order of §8.1 is the caller's: feed access (FLT-6, decided at
// subscribe), LanguageDrops, Relations.Drops, then, unless
// Event.HasFiltered, AppendResults.
package filter
