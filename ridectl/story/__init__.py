"""The story of a ride: the evidence a run left, and the sentences that tell it."""
