"""Fine-tunes run on a GPU instance of the tenant over SSH (``model train start --on-gpu``)."""
