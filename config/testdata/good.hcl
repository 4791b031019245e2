listen   = "127.0.0.1:2222"
host_key = "state/ssh_host_ed25519_key"
log_dir  = "logs"

user "alice" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice@laptop"]
}
user "bob" {
  keys_file = "bob.keys"
}
console "vm1" {
  telnet { address = "127.0.0.1:4555" }
  log {
    max_size = "1MiB"
    keep     = 3
  }
}
console "v6" {
  telnet { address = "[::1]:4555" }
}
console "sw1" {
  exec {
    command = ["sh", "-c", "exec ssh -tt admin@sw1"]
    break   = "\r~B"
  }
}
console "demo" {
  demo {}
}
console "web07" {
  tags = ["rack12", "web"]
  serial {
    device    = "/dev/ttyUSB0"
    baud      = 115200
    parity    = "even"
    stop_bits = 1.5
    flow      = "rtscts"
    break_ms  = 300
  }
}
console "db01" {
  ipmi {
    address       = "10.0.0.51:623"
    user          = "admin"
    password_file = "db01.pw"
    privilege     = "operator"
    steal         = true
  }
}
console "web08" {
  telnet { address = "127.0.0.1:4556" }
  power {
    ipmi {
      address  = "10.0.0.58:623"
      user     = "admin"
      password = "pw"
    }
  }
}
group "ops" {
  members = ["alice"]
}
console "locked" {
  demo {}
  rw = ["group:ops"]
  ro = ["bob", "*"]
}
break "2" {
  sequence = "\\r~\\d^b"
  delay    = "300ms"
}
break "5" {
  sequence = "\\z\\d\\101x"
}
console "tool" {
  exec { command = ["./tool.sh"] }
}
