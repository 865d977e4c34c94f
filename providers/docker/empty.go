package docker

// keepEmpty reports whether a container that is out of rotation keeps its
// routers and services, without servers: with allowNonRunning when it is
// not running, with allowEmptyServices when it runs but is unhealthy,
// starting or stopping. A container its constraints exclude never does.
func (c *container) keepEmpty(o *buildOptions) bool {
	if o.constraint != nil && !o.constraint(c.Labels) {
		return false
	}
	if !c.Running {
		return o.allowNonRunning
	}
	return o.allowEmpty && (c.Draining || (c.Health != "" && c.Health != "healthy"))
}
