"""Optional integrations with the services a fleet of workers shares; each needs its extra
(`octopus-async[redis]`) and none is imported by the core."""
