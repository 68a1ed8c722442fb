"""Container image scanning: the image reader, its OS packages and their vulnerability audit."""
