// Package signal holds the signaling messages of the browser client's
// control protocol, generated from signal.proto, and their framing on the
// WebSocket: one type byte, then the protobuf message.
package signal

//go:generate protoc --go_out=. --go_opt=paths=source_relative signal.proto
