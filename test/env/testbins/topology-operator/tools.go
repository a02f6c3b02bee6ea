//go:build tools

// Package tools pins the official RabbitMQ messaging topology operator, which `npm run bench -- compare`
// measures beside Warren, and the cluster operator whose RabbitmqCluster CRD it waits for.
package tools

import (
	_ "github.com/rabbitmq/cluster-operator/v2/api/v1beta1"
	_ "github.com/rabbitmq/messaging-topology-operator/cmd"
)
