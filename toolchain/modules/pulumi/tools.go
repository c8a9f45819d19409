//go:build tools

// Package tools pins the Pulumi CLI so `go build` can build it from the module cache.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
