"""Employment outcomes after training (issue 17 item 7): 实现就业, recorded by staff."""
