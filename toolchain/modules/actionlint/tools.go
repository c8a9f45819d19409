//go:build tools

// Package tools pins actionlint, the linter the test command runs over
// .github/workflows (it also runs shellcheck on run: steps when one is on PATH).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
