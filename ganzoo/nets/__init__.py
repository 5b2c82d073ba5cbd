"""Network building blocks every variant may share: image-shape checks, DCGAN stacks, layers."""
