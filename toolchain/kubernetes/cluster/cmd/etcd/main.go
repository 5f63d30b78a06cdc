// Command etcd is etcd's server, as go.etcd.io/etcd/v3's main.go builds it (that root module is not needed here).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
