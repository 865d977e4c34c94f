package config

// Origins says where configuration objects were defined (file:line, a
// container, a Consul instance), for the messages that name them.
type Origins interface {
	// Origin returns where object id was defined, "" when unknown.
	Origin(id ObjectID) string
}

// OriginMap is Origins held in a map.
type OriginMap map[ObjectID]string

// Origin returns m[id].
func (m OriginMap) Origin(id ObjectID) string { return m[id] }
