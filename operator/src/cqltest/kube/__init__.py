"""Every Kubernetes call the operator and the operator-mode CLI make lives in this package.

The engine decides; this package does: it logs in (a kubeconfig or the in-cluster service
account), creates and reads the TestRun's children (Jobs, Secrets, the report ConfigMap),
installs the per-run cluster chart through pyhelm3, patches ``/status`` and posts Events.
Nothing here decides what to do next, so everything here can be replaced by the real
apiserver in tests and never by a mock.
"""
