"""Qt widgets. No generation logic, no SQL, no boto3: they talk to studio's core objects."""
