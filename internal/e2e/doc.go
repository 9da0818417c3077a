// Package e2e drives a real Carillon server over HTTP with the official AWS
// SDK for Go (v1, service/chimesdkmeetings) and with raw signed requests, the
// way users' applications do. It holds only tests and their harness.
package e2e
