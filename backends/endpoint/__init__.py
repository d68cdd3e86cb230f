"""The serving side of the SageMaker backend: the handler that runs in the endpoint, a local
server for it, packaging into model.tar.gz, and deployment with boto3.

Importing this package imports neither torch nor diffusers; only loading a model does.
"""
