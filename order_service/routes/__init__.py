"""The HTTP layer: each route turns a request into a command, calls a handler with the
`HandlerDeps` it is given (deps.py) and turns the handler's Answer into a response
(responses.py). orders.py and payments.py are the public API, admin.py the sales,
ops.py /healthz and /metrics."""
