// Package backend is the media example's request logic, kept apart from
// the WAGI glue (../guest) so that it builds and is tested natively: it
// issues viewer tokens, writes the master playlist personalised per
// viewer, and authorises every playlist and segment request with an
// HMAC-SHA256 token carried in the URL path, before the node sends a byte
// of the file (X-Edge-Static).
//
// URLs:
//
//	POST /token                      X-Api-Key: the customer's secret; body viewer=ID[&ttl=SECONDS]
//	GET  /media/master.m3u8?viewer=ID&t=TOKEN[&max_bitrate=BPS][&variant=byterange]
//	GET  /media/TOKEN/REND/FILE      a rendition's playlist or segment (REND: 240p, audio, ...)
//	GET  /media/TOKEN/br/REND/FILE   the same, byte-range variant
//
// A rendition's token is carried in the path, not the query, so the
// relative segment URIs of the media playlists (written by ffmpeg, served
// unchanged) inherit it: no playlist needs rewriting per viewer.
package backend
