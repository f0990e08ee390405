module libsendense/bindings/go

go 1.19
