break "1" {
  sequence = "\\q"
}
