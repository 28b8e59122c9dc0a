// Package wasmbin reads and writes the WebAssembly binary format, as much
// of it as pre-initialisation needs: the section list, and the sections a
// snapshot rewrites (imports, memory, globals, exports, start, data). Every
// other section is kept as the exact bytes it came in.
//
// Why our own: the format is simple, the node parses modules it was sent by
// anyone who can deploy, so the parser must be small enough to read and is
// fuzzed (FuzzParse, FuzzRewrite), and pre-initialisation must run inside
// the node, never by shelling out to a tool.
//
// Parse checks structure (section order and sizes, vector counts, LEB128
// bounds), not validity: Wasmtime validates every module before it runs.
package wasmbin
