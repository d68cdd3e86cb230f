"""Product photos in the window: import, refine the mask, generate scenes around the product."""
