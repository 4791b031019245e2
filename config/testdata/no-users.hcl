console "vm1" {
  demo {}
}
