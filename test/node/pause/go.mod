// The node's pause image: a static program that sleeps until it is signalled (what
// registry.k8s.io/pause does), so that no image is pulled from a registry.
module namespace-isolation-controller/test/node/pause

go 1.26.0
