listen = "127.0.0.1:2222"

console "vm1" {
  log { keep = 2 }
}
