module progimage/infra/imaginary

go 1.24

require github.com/h2non/imaginary v1.2.4

require (
	github.com/h2non/bimg v1.1.4 // indirect
	github.com/h2non/filetype v1.1.0 // indirect
	github.com/hashicorp/golang-lru v0.0.0-20160813221303-0a025b7e63ad // indirect
	github.com/rs/cors v0.0.0-20170727213201-7af7a1e09ba3 // indirect
	gopkg.in/throttled/throttled.v2 v2.0.3 // indirect
)
