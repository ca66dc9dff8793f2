// Package bench is the home of `make bench`: a load tool that starts a private copy of
// Evently, drives it through the public API and writes a report with charts. The tool
// itself is cmd/bench; this file only anchors the module's documentation.
package bench
