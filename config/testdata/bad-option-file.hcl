user "erin" {
  keys_file = "bad-option.keys"
}
console "demo" {
  demo {}
}
