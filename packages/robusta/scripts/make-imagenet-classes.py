# Writes assets/imagenet-classes.json: the 1000 ImageNet-1k class names in index order, as torchvision
# lists them (torchvision.models._meta._IMAGENET_CATEGORIES). Run with Debian's python3-torchvision:
#   /usr/bin/python3 packages/robusta/scripts/make-imagenet-classes.py
import json, os
from torchvision.models._meta import _IMAGENET_CATEGORIES as names
assert len(names) == 1000
out = os.path.join(os.path.dirname(__file__), '..', 'assets', 'imagenet-classes.json')
with open(out, 'w') as f:
    json.dump(list(names), f, indent=0)
    f.write('\n')
print(out, len(names), names[341], names[404])
