// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// The upstream main package embeds schema files that its release build
// generates; the toolchain installer writes them next to this file (in its
// build copy) before compiling.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
