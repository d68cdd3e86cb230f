from tests.tiny_models import main

main()
