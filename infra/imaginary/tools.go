//go:build tools

// Package tools pins imaginary (https://github.com/h2non/imaginary), the image
// server bench:transform measures beside ProgImage: go.mod and go.sum fix its
// version and its dependencies', and infra/local/go-tools.ts builds its main
// package from this module.
package tools

import _ "github.com/h2non/imaginary"
