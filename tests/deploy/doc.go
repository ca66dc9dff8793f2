// Package deploy checks the deployment files of the repository without a cluster: the
// Helm chart is rendered with the Helm SDK and linted strictly, every rendered or
// kustomize-built document is decoded strictly into its Kubernetes API type, the
// production posture is asserted, and every Compose file is loaded with the Compose
// specification's loader. scripts/deploy-check.sh runs these after proving the images.
package deploy
