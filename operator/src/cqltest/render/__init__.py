"""Pure renderers: the CRD from the model, JUnit XML from a run's status and results."""
