//go:build tools

// Package tools pins CoreDNS, the test cluster's DNS server.
package tools

import _ "github.com/coredns/coredns"
