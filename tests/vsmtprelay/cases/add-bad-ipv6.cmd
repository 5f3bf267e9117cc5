run add 2001:db8::g
