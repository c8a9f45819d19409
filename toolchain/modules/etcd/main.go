// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 so the
// local cluster needs nothing but the Go module proxy. (The upstream main
// package lives in a module whose go.mod replaces its siblings with local
// directories, which `go install` refuses.)
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
