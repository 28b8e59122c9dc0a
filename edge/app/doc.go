// Package app loads an app: its edge.toml (Config), its static files and
// its WebAssembly modules (through the AOT cache), from a directory or
// from any fs.FS such as a deployed version. A loaded App is immutable:
// every module compiled and every file stored before LoadApp returns, so
// it never fails later for a missing or invalid file.
package app
